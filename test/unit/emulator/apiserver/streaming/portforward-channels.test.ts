/** Port-forward over kubelet's WebSocket channel protocols (what client-node and the Python client speak). */
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { createStreamingHandlers } from '../../../../../src/emulator/apiserver/streaming/index.js';
import { fakePod, rawUpgrade, startUpgradeServer, type TestServer } from './helpers.js';

let server: TestServer | undefined;
const sockets: WebSocket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.terminate();
  await server?.close();
});

async function start(ports: number[], echoPorts = [8080]) {
  const pod = fakePod(echoPorts);
  const handlers = createStreamingHandlers();
  server = await startUpgradeServer((req, socket, head) => handlers.portForward(req, socket, head, { pod, ports }));
  return { pod, server };
}

interface Client {
  ws: WebSocket;
  /** Every message received, as [channel, payload]. */
  frames: [number, Buffer][];
  closed: Promise<number>;
}

async function connect(s: TestServer, protocols: string[]): Promise<Client> {
  const ws = new WebSocket(`wss://127.0.0.1:${s.port}/api/v1/namespaces/default/pods/hello-0/portforward?ports=8080`, protocols, { ca: s.ca });
  sockets.push(ws);
  const frames: [number, Buffer][] = [];
  ws.on('message', (data: Buffer, isBinary: boolean) => {
    if (isBinary) frames.push([data[0]!, data.subarray(1)]);
    else frames.push([data.toString('latin1').charCodeAt(0) - 48, Buffer.from(data.toString('latin1').slice(1), 'base64')]);
  });
  const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return { ws, frames, closed };
}

const bytesOn = (c: Client, channel: number) => Buffer.concat(c.frames.filter(([ch]) => ch === channel).map(([, p]) => p));

describe('port-forward over WebSocket channels', () => {
  it("picks v4.channel.k8s.io from client-node's list, announces the port on both channels, and echoes", async () => {
    const { server } = await start([8080]);
    const c = await connect(server, ['v5.channel.k8s.io', 'v4.channel.k8s.io', 'v3.channel.k8s.io', 'v2.channel.k8s.io', 'channel.k8s.io']);
    expect(c.ws.protocol).toBe('v4.channel.k8s.io');
    await expect.poll(() => c.frames.length).toBeGreaterThanOrEqual(2);
    // 8080 = 0x1f90, little-endian
    expect(c.frames.slice(0, 2)).toEqual([
      [0, Buffer.from([0x90, 0x1f])],
      [1, Buffer.from([0x90, 0x1f])],
    ]);
    c.ws.send(Buffer.concat([Buffer.of(0), Buffer.from('ping through the pod')]));
    await expect.poll(() => bytesOn(c, 0).subarray(2).toString()).toBe('ping through the pod');
    expect(bytesOn(c, 1).length).toBe(2);
  });

  it('speaks the base64 variant in text frames', async () => {
    const { server } = await start([8080]);
    const c = await connect(server, ['v4.base64.channel.k8s.io']);
    expect(c.ws.protocol).toBe('v4.base64.channel.k8s.io');
    c.ws.send(`0${Buffer.from('text framed').toString('base64')}`);
    await expect.poll(() => bytesOn(c, 0).subarray(2).toString()).toBe('text framed');
  });

  it('uses binary channels when the client offers no subprotocol', async () => {
    const { server } = await start([8080]);
    const c = await connect(server, []);
    expect(c.ws.protocol).toBe('');
    c.ws.send(Buffer.concat([Buffer.of(0), Buffer.from('plain')]));
    await expect.poll(() => bytesOn(c, 0).subarray(2).toString()).toBe('plain');
  });

  it('reports a port nothing listens on on the error channel, then closes', async () => {
    const { server } = await start([9999]);
    const c = await connect(server, ['v4.channel.k8s.io']);
    expect(await c.closed).toBe(1000);
    expect(bytesOn(c, 1).subarray(2).toString()).toMatch(/^error forwarding port 9999 to pod default\/hello-0, uid : failed to connect to localhost:9999/);
  });

  it('refuses subprotocols kubelet does not serve for port-forward, and a request without ports', async () => {
    const { server } = await start([8080]);
    const handshake = (protocol: string) => [
      'GET /api/v1/namespaces/default/pods/hello-0/portforward?ports=8080 HTTP/1.1',
      'Host: 127.0.0.1',
      'Connection: Upgrade',
      'Upgrade: websocket',
      'Sec-WebSocket-Version: 13',
      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
      `Sec-WebSocket-Protocol: ${protocol}`,
    ];
    const v5 = await rawUpgrade(server.port, server.ca, handshake('v5.channel.k8s.io'));
    expect(v5.status).toBe(403);
    expect(v5.rest.toString()).toContain('requested protocol(s) are not supported: [v5.channel.k8s.io]');
    await server.close();
    const noPorts = await start([]);
    const missing = await rawUpgrade(noPorts.server.port, noPorts.server.ca, handshake('v4.channel.k8s.io'));
    expect(missing.status).toBe(400);
    expect(missing.rest.toString()).toContain('query parameter "port" is required');
  });
});
