import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createStreamingHandlers } from '../../../../../src/emulator/apiserver/streaming/index.js';
import { fakePod, rawUpgrade, SpdyTestClient, startUpgradeServer, webSocketTunnel, type TestServer } from './helpers.js';

let server: TestServer;
let pod: ReturnType<typeof fakePod>;
const cleanups: (() => void)[] = [];

beforeEach(async () => {
  const handlers = createStreamingHandlers();
  pod = fakePod([8080]);
  server = await startUpgradeServer((req, socket, head) => handlers.portForward(req, socket, head, { pod, ports: [] }));
});
afterEach(async () => {
  for (const c of cleanups.splice(0)) c();
  await server.close();
});

type Mode = 'spdy' | 'websocket';

async function connect(mode: Mode): Promise<SpdyTestClient> {
  const path = 'POST /api/v1/namespaces/default/pods/hello-0/portforward HTTP/1.1';
  const up =
    mode === 'spdy'
      ? await rawUpgrade(server.port, server.ca, [
          path,
          'Host: 127.0.0.1',
          'Connection: Upgrade',
          'Upgrade: SPDY/3.1',
          'X-Stream-Protocol-Version: portforward.k8s.io',
        ])
      : await rawUpgrade(server.port, server.ca, [
          path.replace('POST', 'GET'),
          'Host: 127.0.0.1',
          'Connection: Upgrade',
          'Upgrade: websocket',
          'Sec-WebSocket-Version: 13',
          'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
          'Sec-WebSocket-Protocol: SPDY/3.1+portforward.k8s.io',
        ]);
  expect(up.status).toBe(101);
  if (mode === 'spdy') expect(up.headers['x-stream-protocol-version']).toBe('portforward.k8s.io');
  else {
    expect(up.headers['sec-websocket-protocol']).toBe('SPDY/3.1+portforward.k8s.io');
    expect(up.headers['sec-websocket-accept']).toBe('s3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
  }
  const transport = mode === 'spdy' ? up.socket : webSocketTunnel(up.socket, up.rest);
  const client = new SpdyTestClient(transport, mode === 'spdy' ? up.rest : Buffer.alloc(0));
  cleanups.push(() => client.destroy());
  return client;
}

describe.each(['spdy', 'websocket'] as const)('port-forward over %s', (mode) => {
  it('echoes bytes through the pod port for several requests on one session', async () => {
    const c = await connect(mode);
    for (const requestid of ['0', '1', '2']) {
      const error = c.open({ streamtype: 'error', port: '8080', requestid }, true);
      const data = c.open({ streamtype: 'data', port: '8080', requestid });
      await c.until(() => error.replied && data.replied, `replies for request ${requestid}`);
      const payload = `payload of request ${requestid} `.repeat(50);
      c.write(data, payload);
      await c.until(() => c.text(data) === payload, `echo of request ${requestid}`);
      c.write(data, '', true);
      await c.until(() => data.fin && error.fin, `FINs for request ${requestid}`);
      expect(c.text(error)).toBe('');
    }
    expect(pod.opened).toBe(3);
  });

  it('carries more than one flow-control window (pauses and credits correctly)', async () => {
    const c = await connect(mode);
    c.open({ streamtype: 'error', port: '8080', requestid: '7' }, true);
    const data = c.open({ streamtype: 'data', port: '8080', requestid: '7' });
    const big = Buffer.alloc(300 * 1024);
    for (let i = 0; i < big.length; i++) big[i] = (i * 7) & 0xff;
    for (let off = 0; off < big.length; off += 16 * 1024) c.write(data, big.subarray(off, off + 16 * 1024));
    await c.until(() => Buffer.concat(data.data).length >= big.length, 'the whole echo', 10_000);
    expect(Buffer.concat(data.data).equals(big)).toBe(true);
    expect(c.frames.some((f) => f.type === 'window_update' && f.streamId === data.id)).toBe(true);
  });

  it('honours the send window once the peer announces one', async () => {
    const c = await connect(mode);
    c.send({ type: 'settings', clear: false, entries: [{ id: 7, value: 4096, flags: 0 }] });
    c.open({ streamtype: 'error', port: '8080', requestid: 'w' }, true);
    const data = c.open({ streamtype: 'data', port: '8080', requestid: 'w' });
    c.write(data, Buffer.alloc(10_000, 0x61));
    const received = () => Buffer.concat(data.data).length;
    await c.until(() => received() >= 4096, 'first window of echo');
    // A ping round trip after the echo started: anything beyond the window would be here by now.
    c.send({ type: 'ping', id: 3 });
    await c.until(() => c.frames.some((f) => f.type === 'ping' && f.id === 3), 'PING echo');
    expect(received()).toBe(4096);
    c.send({ type: 'window_update', streamId: data.id, delta: 10_000 });
    await c.until(() => received() === 10_000, 'the rest after WINDOW_UPDATE');
  });

  it('reports a port nothing listens on on the error stream', async () => {
    const c = await connect(mode);
    const error = c.open({ streamtype: 'error', port: '9999', requestid: '0' }, true);
    const data = c.open({ streamtype: 'data', port: '9999', requestid: '0' });
    await c.until(() => error.fin && data.fin, 'both streams closed');
    expect(c.text(error)).toMatch(/^error forwarding port 9999 to pod default\/hello-0, uid : failed to connect to localhost:9999/);
    expect(pod.opened).toBe(0);
  });

  it('pairs streams even when the data stream comes first', async () => {
    const c = await connect(mode);
    const data = c.open({ streamtype: 'data', port: '8080', requestid: 'x' });
    await c.until(() => data.replied, 'data reply');
    expect(pod.opened).toBe(0);
    c.open({ streamtype: 'error', port: '8080', requestid: 'x' }, true);
    c.write(data, 'ping');
    await c.until(() => c.text(data) === 'ping', 'echo');
  });
});

describe('port-forward upgrade negotiation', () => {
  it('refuses SPDY clients that do not speak portforward.k8s.io', async () => {
    const up = await rawUpgrade(server.port, server.ca, [
      'POST /pf HTTP/1.1',
      'Host: x',
      'Connection: Upgrade',
      'Upgrade: SPDY/3.1',
      'X-Stream-Protocol-Version: v4.channel.k8s.io',
    ]);
    expect(up.status).toBe(403);
    up.socket.destroy();
  });

  it('refuses WebSocket clients with another subprotocol or a bad key', async () => {
    const base = ['GET /pf HTTP/1.1', 'Host: x', 'Connection: Upgrade', 'Upgrade: websocket', 'Sec-WebSocket-Version: 13'];
    const a = await rawUpgrade(server.port, server.ca, [...base, 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==', 'Sec-WebSocket-Protocol: v4.channel.k8s.io']);
    expect(a.status).toBe(400);
    a.socket.destroy();
    const b = await rawUpgrade(server.port, server.ca, [...base, 'Sec-WebSocket-Key: short', 'Sec-WebSocket-Protocol: SPDY/3.1+portforward.k8s.io']);
    expect(b.status).toBe(400);
    b.socket.destroy();
  });
});
