/**
 * The agent over the real in-tunnel framing (src/relay/stream.ts): each side of a loopback
 * WebSocket is wrapped as a byte stream, as arcproxy and the relay listener do.
 */
import { EventEmitter, once } from 'node:events';
import { request, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { createClusterAgent, type ClusterAgent } from '../../../../src/emulator/agent/index.js';
import { webSocketStream } from '../../../../src/relay/stream.js';
import { AGENT_TOKEN, ISSUER, startApiserver, TENANT, type TestApiserver, LENIENT_CLUSTER } from './harness.js';

const idleSource = () => Object.assign(new EventEmitter(), { start() {}, close: async () => {} });

/** A test apiserver, the agent in front of it, and a WebSocket server whose every connection the agent serves. */
async function startAgentBehindWebSocketServer(): Promise<{ api: TestApiserver; agent: ClusterAgent; wss: WebSocketServer }> {
  const api = await startApiserver();
  const agent = await createClusterAgent({
    source: idleSource,
    apiserver: { url: api.url, ca: api.ca, token: AGENT_TOKEN },
    entra: { tenantId: TENANT, issuer: ISSUER, jwks: { keys: [] } },
    cluster: LENIENT_CLUSTER,
  });
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
  wss.on('connection', (ws) => agent.serveStream(webSocketStream(ws)));
  await once(wss, 'listening');
  return { api, agent, wss };
}

describe('cluster agent over WebSocket byte streams', () => {
  let api: TestApiserver;
  let agent: ClusterAgent;
  let wss: WebSocketServer;
  const clients: Duplex[] = [];

  beforeEach(async () => {
    ({ api, agent, wss } = await startAgentBehindWebSocketServer());
  });

  afterEach(async () => {
    // A clean close (1000) on our side; the agent's side ends without an error.
    for (const c of clients.splice(0)) c.destroy();
    await agent.stop();
    for (const c of wss.clients) c.terminate();
    await new Promise<void>((resolve) => wss.close(() => resolve()));
    await api.close();
  });

  async function tunnel(): Promise<Duplex> {
    const ws = new WebSocket(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}`, { perMessageDeflate: false });
    await once(ws, 'open');
    const stream = webSocketStream(ws);
    clients.push(stream);
    return stream;
  }

  it('answers requests and streams a watch chunk as it is written', async () => {
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let secondWritten = false;
    api.onRequest = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"type":"ADDED"}\n');
      void released.then(() => {
        secondWritten = true;
        res.end('{"type":"MODIFIED"}\n');
      });
    };
    const stream = await tunnel();
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = request(
        { host: 'cluster', path: '/api/v1/pods?watch=true', headers: { authorization: 'Bearer sa' }, createConnection: () => stream as never },
        resolve,
      );
      req.on('error', reject);
      req.end();
    });
    const [first] = (await once(res, 'data')) as [Buffer];
    expect(first.toString()).toBe('{"type":"ADDED"}\n');
    expect(secondWritten).toBe(false);
    release();
    const rest: Buffer[] = [];
    res.on('data', (c: Buffer) => rest.push(c));
    await once(res, 'end');
    expect(Buffer.concat(rest).toString()).toBe('{"type":"MODIFIED"}\n');
    expect(agent.activeStreams).toBe(1);
  });

  it('relays upgrade bytes unchanged', async () => {
    api.onUpgrade = (_req, socket) => {
      socket.write('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n\r\n');
      socket.pipe(socket);
    };
    const stream = await tunnel();
    const payload = Buffer.from(Array.from({ length: 1024 }, (_, i) => (i * 7) % 256));
    let received = Buffer.alloc(0);
    const gotAll = new Promise<void>((resolve) => {
      stream.on('data', (c: Buffer) => {
        received = Buffer.concat([received, c]);
        const end = received.indexOf('\r\n\r\n');
        if (end >= 0 && received.length >= end + 4 + payload.length) resolve();
      });
    });
    stream.write(
      'POST /api/v1/namespaces/default/pods/p/portforward HTTP/1.1\r\nHost: c\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\nAuthorization: Bearer sa\r\n\r\n',
    );
    // Sent at once, before the 101: the agent must hold these bytes until the apiserver is connected.
    stream.write(payload);
    await gotAll;
    const end = received.indexOf('\r\n\r\n');
    expect(received.subarray(0, end).toString()).toMatch(/^HTTP\/1\.1 101 /);
    expect(received.subarray(end + 4).equals(payload)).toBe(true);
  });
});

describe('cluster agent when a relay stream is cut abruptly', () => {
  let api: TestApiserver;
  let agent: ClusterAgent;
  let wss: WebSocketServer;
  const sockets: WebSocket[] = [];

  beforeEach(async () => {
    ({ api, agent, wss } = await startAgentBehindWebSocketServer());
  });

  afterEach(async () => {
    for (const s of sockets.splice(0)) s.terminate();
    await agent.stop();
    await new Promise<void>((resolve) => wss.close(() => resolve()));
    await api.close();
  });

  /** The client end is a bare WebSocket so the test can cut it without a close frame. */
  async function rawTunnel(): Promise<WebSocket> {
    const ws = new WebSocket(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}`, { perMessageDeflate: false });
    sockets.push(ws);
    await once(ws, 'open');
    return ws;
  }

  it('closes the apiserver side of an upgrade', async () => {
    let upstream: Duplex | undefined;
    api.onUpgrade = (_req, socket) => {
      upstream = socket;
      socket.write('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n');
      socket.pipe(socket);
    };
    const ws = await rawTunnel();
    const switched = new Promise<void>((resolve) => ws.on('message', (m: Buffer) => m.toString().startsWith('HTTP/1.1 101') && resolve()));
    ws.send(Buffer.from('GET /exec HTTP/1.1\r\nHost: c\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nAuthorization: Bearer sa\r\n\r\n'));
    await switched;
    const upstreamClosed = once(upstream!, 'close');
    ws.terminate();
    await upstreamClosed;
    expect(upstream!.destroyed).toBe(true);
  });

  it('aborts an in-flight watch upstream', async () => {
    const upstreamClosed = new Promise<boolean>((resolve) => {
      api.onRequest = (_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('{"type":"ADDED"}\n');
        res.on('close', () => resolve(res.writableFinished));
      };
    });
    const ws = await rawTunnel();
    const firstEvent = new Promise<void>((resolve) => ws.on('message', (m: Buffer) => m.includes('ADDED') && resolve()));
    ws.send(Buffer.from('GET /api/v1/pods?watch=true HTTP/1.1\r\nHost: c\r\nAuthorization: Bearer sa\r\n\r\n'));
    await firstEvent;
    ws.terminate();
    expect(await upstreamClosed).toBe(false);
  });
});
