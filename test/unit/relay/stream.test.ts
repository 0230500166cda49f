/** webSocketStream: the in-tunnel framing contract (coalescing, backpressure, end/error mapping). */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import WebSocket, { WebSocketServer } from 'ws';
import { webSocketStream } from '../../../src/relay/stream.js';
import { RelayError } from '../../../src/relay/errors.js';

let wss: WebSocketServer;
let url: string;
/** Server-side sockets in connection order. */
const serverSide: WebSocket[] = [];
const clients: WebSocket[] = [];

beforeAll(async () => {
  wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
  wss.on('connection', (ws) => {
    ws.on('error', () => undefined);
    serverSide.push(ws);
  });
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`;
});
afterAll(async () => {
  for (const ws of clients) ws.terminate();
  for (const ws of wss.clients) ws.terminate();
  await new Promise<void>((resolve) => wss.close(() => resolve()));
});

/** An open client WebSocket and its server peer. */
async function pair(): Promise<{ client: WebSocket; server: WebSocket }> {
  const before = serverSide.length;
  const client = new WebSocket(url, { perMessageDeflate: false });
  clients.push(client);
  await new Promise<void>((resolve, reject) => {
    client.once('open', () => resolve());
    client.once('error', reject);
  });
  while (serverSide.length === before) await new Promise((r) => setImmediate(r));
  return { client, server: serverSide[before]! };
}

function collect(server: WebSocket): { messages: Buffer[]; kinds: boolean[] } {
  const messages: Buffer[] = [];
  const kinds: boolean[] = [];
  server.on('message', (data, isBinary) => {
    messages.push(data as Buffer);
    kinds.push(isBinary);
  });
  return { messages, kinds };
}

const closeOf = (ws: WebSocket) => new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
const endOf = (s: Duplex) =>
  new Promise<void>((resolve, reject) => {
    s.once('end', () => resolve());
    s.once('error', reject);
  });
const errorOf = (s: Duplex) => new Promise<Error>((resolve) => s.once('error', resolve));

async function readAll(stream: Duplex): Promise<string> {
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  await endOf(stream);
  return Buffer.concat(chunks).toString();
}

describe('writing', () => {
  it('coalesces the writes of one event-loop turn into one binary message', async () => {
    const { client, server } = await pair();
    const got = collect(server);
    const stream = webSocketStream(client);
    stream.write('GET / HTTP/1.1\r\n');
    stream.write('Host: x\r\n');
    stream.write(Buffer.from('\r\n'));
    const closed = closeOf(server);
    stream.end();
    expect(await closed).toBe(1000);
    expect(got.messages.map(String)).toEqual(['GET / HTTP/1.1\r\nHost: x\r\n\r\n']);
    expect(got.kinds).toEqual([true]);
  });

  it('sends writes of later turns as later messages, in order', async () => {
    const { client, server } = await pair();
    const got = collect(server);
    const stream = webSocketStream(client);
    stream.write('one');
    await new Promise((r) => setImmediate(r)); // the next turn: the first flush has run
    stream.write('two');
    const closed = closeOf(server);
    stream.end('three');
    await closed;
    expect(got.messages.map(String)).toEqual(['one', 'twothree']);
  });

  it('never sends an empty message', async () => {
    const { client, server } = await pair();
    const got = collect(server);
    const stream = webSocketStream(client);
    stream.write(Buffer.alloc(0));
    stream.write('');
    const closed = closeOf(server);
    stream.end();
    expect(await closed).toBe(1000);
    expect(got.messages).toEqual([]);
  });

  it('holds writes while the socket cannot drain, and releases them when it does', async () => {
    const { client, server } = await pair();
    server.pause(); // stop reading: the bytes pile up in kernel buffers, then in ws
    let received = 0;
    server.on('message', (d: Buffer) => (received += d.length));
    const highWaterMark = 64 * 1024;
    const stream = webSocketStream(client, { highWaterMark });
    const chunk = Buffer.alloc(64 * 1024, 7);
    let written = 0;
    let accepted = true;
    // Bounded: if backpressure were missing, write() would keep returning true.
    for (let i = 0; i < 2048 && accepted; i++) {
      accepted = stream.write(chunk);
      written += chunk.length;
      if (i % 8 === 7) await new Promise((r) => setImmediate(r));
    }
    expect(accepted).toBe(false);
    expect(written).toBeLessThan(2048 * chunk.length);
    expect(stream.writableNeedDrain).toBe(true);
    const drained = new Promise<void>((resolve) => stream.once('drain', () => resolve()));
    server.resume();
    await drained;
    const closed = closeOf(server);
    stream.end();
    await closed;
    expect(received).toBe(written);
  });
});

describe('reading', () => {
  it('reads binary and text messages as one byte stream and ends on 1000', async () => {
    const { client, server } = await pair();
    const stream = webSocketStream(client);
    const all = readAll(stream);
    server.send(Buffer.from('bin-'), { binary: true });
    server.send('text-', { binary: false });
    server.send(Buffer.from('end'));
    server.close(1000);
    expect(await all).toBe('bin-text-end');
  });

  it('fails on 1001: the hybrid connection is gone, which is never a clean end', async () => {
    const { client, server } = await pair();
    const stream = webSocketStream(client);
    const all = readAll(stream);
    server.send('bye');
    server.close(1001);
    await expect(all).rejects.toMatchObject({ code: 'ARCPROXY_RELAY_CLOSED', closeCode: 1001, message: expect.stringContaining('deleted or disabled') });
  });

  it('pauses the socket while the reader is not reading', async () => {
    const { client, server } = await pair();
    const stream = webSocketStream(client);
    const big = Buffer.alloc(256 * 1024, 1);
    for (let i = 0; i < 8; i++) server.send(big);
    // Bounded polling: the socket must end up paused with nobody reading.
    for (let i = 0; i < 500 && !client.isPaused; i++) await new Promise((r) => setTimeout(r, 5));
    expect(client.isPaused).toBe(true);
    expect(stream.readableLength).toBeGreaterThan(0);
    let total = 0;
    stream.on('data', (c: Buffer) => (total += c.length));
    server.close(1000);
    await endOf(stream);
    expect(total).toBe(8 * big.length);
  });

  for (const code of [1008, 1011, 4000]) {
    it(`fails with ARCPROXY_RELAY_CLOSED carrying close code ${code}`, async () => {
      const { client, server } = await pair();
      const stream = webSocketStream(client);
      stream.resume();
      const failed = errorOf(stream);
      server.close(code, 'why');
      const err = await failed;
      expect(err).toBeInstanceOf(RelayError);
      expect((err as RelayError).code).toBe('ARCPROXY_RELAY_CLOSED');
      expect((err as RelayError).closeCode).toBe(code);
    });
  }

  it('fails with close code 1006 when the connection is cut', async () => {
    const { client, server } = await pair();
    const stream = webSocketStream(client);
    stream.resume();
    const failed = errorOf(stream);
    server.terminate();
    expect(((await failed) as RelayError).closeCode).toBe(1006);
  });
});

describe('destroying', () => {
  it('closes with 1000 on a clean destroy', async () => {
    const { client, server } = await pair();
    const stream = webSocketStream(client);
    const closed = closeOf(server);
    stream.destroy();
    expect(await closed).toBe(1000);
  });

  it('terminates (1006 at the peer) when destroyed with an error', async () => {
    const { client, server } = await pair();
    const stream = webSocketStream(client);
    stream.on('error', () => undefined);
    const closed = closeOf(server);
    stream.destroy(new Error('boom'));
    expect(await closed).toBe(1006);
  });
});
