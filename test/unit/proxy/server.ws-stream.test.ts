/**
 * Relay streams are WebSocket byte streams (ws's createWebSocketStream), not net.Sockets. This
 * runs the proxy over such streams: a local ws server bridges each WebSocket to the agent
 * stand-in, the way Azure Relay bridges a sender to a listener.
 */
import { connect, type AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { request as httpsRequest } from 'node:https';
import type { IncomingMessage } from 'node:http';
import WebSocket, { WebSocketServer, createWebSocketStream } from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import type { StreamDialer } from '../../../src/tunnel/dialer.js';
import { PREFIX, clientOptions, get, sharedPki, startProxy, startUpstream } from './helpers.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function wsBridge(targetPort: number): Promise<{ dialer: StreamDialer & { dials: number }; bridged: () => number }> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
  await new Promise<void>((r) => wss.once('listening', () => r()));
  cleanups.push(
    () =>
      new Promise<void>((r) => {
        for (const c of wss.clients) c.terminate();
        wss.close(() => r());
      }),
  );
  let bridged = 0;
  wss.on('connection', (ws) => {
    bridged++;
    const stream = createWebSocketStream(ws);
    const socket = connect(targetPort, '127.0.0.1');
    stream.pipe(socket).pipe(stream);
    stream.on('error', () => socket.destroy());
    socket.on('error', () => stream.destroy());
    stream.on('close', () => socket.destroy());
    socket.on('close', () => stream.destroy());
  });
  const url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/`;
  const dialer = {
    dials: 0,
    dial(): Promise<Duplex> {
      dialer.dials++;
      return new Promise((resolve, reject) => {
        const ws = new WebSocket(url, { perMessageDeflate: false });
        ws.once('open', () => resolve(createWebSocketStream(ws)));
        ws.once('error', reject);
      });
    },
  };
  return { dialer, bridged: () => bridged };
}

describe('proxy server over WebSocket streams', () => {
  it('pools and reuses WebSocket streams for ordinary requests', async () => {
    const pki = await sharedPki();
    const upstream = await startUpstream((req, res) => res.end(`got ${req.url}`));
    cleanups.push(() => upstream.close());
    const { dialer, bridged } = await wsBridge(upstream.port);
    const proxy = await startProxy(pki, dialer);
    cleanups.push(() => proxy.close(1000));
    for (let i = 0; i < 5; i++) expect((await get(pki, proxy.port, `${PREFIX}/r${i}`)).body).toBe(`got /r${i}`);
    expect(dialer.dials).toBe(1);
    expect(bridged()).toBe(1);
  });

  it('relays a SPDY-style upgrade over a WebSocket stream', async () => {
    const pki = await sharedPki();
    const upstream = await startUpstream((_req, res) => res.end());
    cleanups.push(() => upstream.close());
    upstream.server.on('upgrade', (_req: IncomingMessage, socket: Duplex) => {
      socket.write('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n\r\n');
      socket.pipe(socket);
    });
    const { dialer } = await wsBridge(upstream.port);
    const proxy = await startProxy(pki, dialer);
    cleanups.push(() => proxy.close(1000));
    const socket = await new Promise<Duplex>((resolve, reject) => {
      const req = httpsRequest(
        clientOptions(pki, proxy.port, { method: 'POST', path: `${PREFIX}/portforward`, headers: { Connection: 'Upgrade', Upgrade: 'SPDY/3.1' } }),
      );
      req.on('upgrade', (_res, s: Duplex) => resolve(s));
      req.on('response', (res) => reject(new Error(`status ${res.statusCode}`)));
      req.on('error', reject);
      req.end();
    });
    cleanups.push(async () => void socket.destroy());
    const echoed = new Promise<Buffer>((resolve) => socket.once('data', (c: Buffer) => resolve(c)));
    socket.write(Buffer.from([0x80, 0x03, 0x00, 0x01]));
    expect([...(await echoed)]).toEqual([0x80, 0x03, 0x00, 0x01]);
  });
});
