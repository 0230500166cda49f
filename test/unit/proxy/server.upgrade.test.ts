import { request as httpsRequest } from 'node:https';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import WebSocket, { WebSocketServer } from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import type { RequestLogEntry } from '../../../src/proxy/log.js';
import type { SessionPki } from '../../../src/pki/session-pki.js';
import { PREFIX, clientOptions, netDialer, sharedPki, startProxy, startUpstream, type Upstream } from './helpers.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});
function own<T extends { close(): Promise<void> }>(x: T): T {
  cleanups.push(() => x.close());
  return x;
}

/** An agent stand-in whose upgrades are handled by `onUpgrade`. */
async function upgradeUpstream(onUpgrade: (req: IncomingMessage, socket: Duplex, head: Buffer) => void): Promise<Upstream> {
  const upstream = own(await startUpstream((_req, res) => res.end('not an upgrade')));
  upstream.server.on('upgrade', onUpgrade);
  return upstream;
}

/** POST + Upgrade: SPDY/3.1 through the proxy; resolves with the 101 and the raw socket. */
function spdyUpgrade(pki: SessionPki, port: number, path: string): Promise<{ res: IncomingMessage; socket: Duplex; head: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      clientOptions(pki, port, {
        method: 'POST',
        path,
        headers: { Connection: 'Upgrade', Upgrade: 'SPDY/3.1', 'X-Stream-Protocol-Version': 'v4.channel.k8s.io', Authorization: 'Bearer sa' },
      }),
    );
    req.on('upgrade', (res, socket, head) => resolve({ res, socket, head }));
    req.on('response', (res) => reject(new Error(`expected 101, got ${res.statusCode}`)));
    req.on('error', reject);
    req.end();
  });
}

describe('proxy server: upgrades', () => {
  it('relays a WebSocket upgrade to the agent, which echoes; Entra token injected on the upgrade', async () => {
    const pki = await sharedPki();
    const wss = new WebSocketServer({ noServer: true });
    cleanups.push(() => new Promise<void>((r) => wss.close(() => r())));
    const upstream = await upgradeUpstream((req, socket, head) => {
      wss.handleUpgrade(req, socket, head, (ws) => ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary })));
    });
    const entries: RequestLogEntry[] = [];
    const dialer = netDialer(upstream.port);
    const proxy = own(await startProxy(pki, dialer, { auth: { kind: 'entra', getToken: async () => 'ws-entra-token' }, onRequest: (e) => entries.push(e) }));
    const ws = new WebSocket(`wss://127.0.0.1:${proxy.port}${PREFIX}/api/v1/namespaces/d/pods/p/exec?command=sh`, ['v5.channel.k8s.io'], {
      ca: pki.caCert,
      cert: pki.client.cert,
      key: pki.client.key,
      headers: { Authorization: 'Bearer kubeconfig', 'Impersonate-User': 'root' },
      perMessageDeflate: false,
    });
    cleanups.push(() => ws.terminate());
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    expect(ws.protocol).toBe('v5.channel.k8s.io');
    const echoed = new Promise<Buffer>((resolve) => ws.once('message', (d) => resolve(d as Buffer)));
    ws.send(Buffer.from([1, 0, 255, 104, 105]));
    expect([...(await echoed)]).toEqual([1, 0, 255, 104, 105]);

    const seen = upstream.seen[0]!;
    expect(seen.url).toBe('/api/v1/namespaces/d/pods/p/exec?command=sh');
    expect(seen.headers.authorization).toBe('Bearer ws-entra-token');
    expect(seen.headers['impersonate-user']).toBeUndefined();
    expect(seen.headers['sec-websocket-protocol']).toBe('v5.channel.k8s.io');
    expect(dialer.dials).toBe(1);

    const closed = new Promise<void>((r) => ws.once('close', () => r()));
    ws.close();
    await closed;
    await proxy.close(1000);
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ method: 'GET', path: '/api/v1/namespaces/d/pods/p/exec?command=[redacted]', status: 101, upgrade: true });
    expect(JSON.stringify(entries)).not.toContain('ws-entra-token');
  });

  it('relays a SPDY-style POST upgrade byte for byte', async () => {
    const pki = await sharedPki();
    const upstream = await upgradeUpstream((_req, socket, head) => {
      socket.write('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n\r\n');
      if (head.length) socket.write(head);
      socket.pipe(socket);
    });
    const proxy = own(await startProxy(pki, netDialer(upstream.port)));
    const { res, socket } = await spdyUpgrade(pki, proxy.port, `${PREFIX}/api/v1/namespaces/d/pods/p/exec?command=ls`);
    cleanups.push(() => void socket.destroy());
    expect(res.statusCode).toBe(101);
    expect(res.headers.upgrade).toBe('SPDY/3.1');
    const seen = upstream.seen[0]!;
    expect(seen.method).toBe('POST');
    expect(seen.headers['x-stream-protocol-version']).toBe('v4.channel.k8s.io');
    expect(seen.headers.authorization).toBe('Bearer sa');

    const payload = Buffer.alloc(256 * 1024);
    for (let i = 0; i < payload.length; i++) payload[i] = (i * 31) % 256;
    const received: Buffer[] = [];
    let total = 0;
    const done = new Promise<void>((resolve) =>
      socket.on('data', (c: Buffer) => {
        received.push(c);
        total += c.length;
        if (total >= payload.length) resolve();
      }),
    );
    socket.write(payload);
    await done;
    expect(Buffer.concat(received).equals(payload)).toBe(true);
  });

  it('relays a refused upgrade answer and ends the tunnel', async () => {
    const pki = await sharedPki();
    const upstream = await upgradeUpstream((_req, socket) => {
      socket.end('HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: 7\r\nConnection: close\r\n\r\nrefused');
    });
    const proxy = own(await startProxy(pki, netDialer(upstream.port)));
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = httpsRequest(clientOptions(pki, proxy.port, { path: `${PREFIX}/exec`, headers: { Connection: 'Upgrade', Upgrade: 'websocket' } }));
      req.on('response', resolve);
      req.on('upgrade', () => reject(new Error('unexpected upgrade')));
      req.on('error', reject);
      req.end();
    });
    expect(res.statusCode).toBe(400);
    let body = '';
    for await (const c of res) body += String(c);
    expect(body).toBe('refused');
  });

  it('answers an upgrade on a wrong path with a 404 Status and dials nothing', async () => {
    const pki = await sharedPki();
    const dialer = netDialer(1);
    const proxy = own(await startProxy(pki, dialer));
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = httpsRequest(
        clientOptions(pki, proxy.port, { path: '/api/v1/exec', headers: { Connection: 'Upgrade', Upgrade: 'SPDY/3.1' }, method: 'POST' }),
      );
      req.on('response', resolve);
      req.on('error', reject);
      req.end();
    });
    expect(res.statusCode).toBe(404);
    let body = '';
    for await (const c of res) body += String(c);
    expect(JSON.parse(body)).toMatchObject({ kind: 'Status', reason: 'NotFound', code: 404 });
    expect(dialer.dials).toBe(0);
  });
});
