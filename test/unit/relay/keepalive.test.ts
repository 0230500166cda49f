/** The relay stream's keep-alive: a ping with a pong deadline notices a dead connection. */
import { afterEach, describe, expect, it } from 'vitest';
import type { AddressInfo } from 'node:net';
import WebSocket, { WebSocketServer } from 'ws';
import { webSocketStream } from '../../../src/relay/stream.js';
import { RelayError } from '../../../src/relay/errors.js';

const servers: WebSocketServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    for (const c of s.clients) c.terminate();
    await new Promise((r) => s.close(r));
  }
});

/** A server whose connections answer pings only while `answering` is true. */
async function server(opts: { autoPong: boolean }) {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', autoPong: opts.autoPong });
  servers.push(wss);
  const pings: number[] = [];
  wss.on('connection', (ws) => ws.on('ping', () => pings.push(Date.now())));
  await new Promise((r) => wss.once('listening', r));
  return { url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`, pings, wss };
}

async function open(url: string): Promise<WebSocket> {
  const ws = new WebSocket(url);
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  return ws;
}

describe('keep-alive', () => {
  it('destroys a stream whose peer stops answering pings (idle, nobody reading)', async () => {
    const { url, pings } = await server({ autoPong: false });
    const ws = await open(url);
    const stream = webSocketStream(ws, { keepAlive: { intervalMs: 30, timeoutMs: 60 } });
    const err = await new Promise<Error>((resolve) => stream.once('error', resolve));
    expect(err).toBeInstanceOf(RelayError);
    expect(err).toMatchObject({ code: 'ARCPROXY_RELAY_CLOSED', closeCode: 1006 });
    expect(err.message).toMatch(/keep-alive ping/);
    expect(pings.length).toBeGreaterThanOrEqual(1);
    await new Promise((r) => (ws.readyState === WebSocket.CLOSED ? r(null) : ws.once('close', r)));
    expect(stream.destroyed).toBe(true);
  });

  it('keeps a stream whose peer answers, across many ping rounds, and stops pinging once closed', async () => {
    const { url, pings } = await server({ autoPong: true });
    const ws = await open(url);
    const stream = webSocketStream(ws, { keepAlive: { intervalMs: 10, timeoutMs: 40 } });
    let failed: unknown;
    stream.on('error', (e) => (failed = e));
    // Bounded polling: wait for ten ping rounds answered in time.
    for (let i = 0; i < 500 && pings.length < 10; i++) await new Promise((r) => setTimeout(r, 10));
    expect(pings.length).toBeGreaterThanOrEqual(10);
    expect(failed).toBeUndefined();
    expect(stream.destroyed).toBe(false);
    stream.destroy();
    await new Promise((r) => stream.once('close', r));
  });
});
