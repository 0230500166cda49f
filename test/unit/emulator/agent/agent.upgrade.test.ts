import { EventEmitter, once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createClusterAgent, type ClusterAgent } from '../../../../src/emulator/agent/index.js';
import {
  AGENT_TOKEN,
  closedPort,
  createIssuer,
  headerValues,
  ISSUER,
  startApiserver,
  startFront,
  TENANT,
  type Front,
  type Issuer,
  type TestApiserver,
  LENIENT_CLUSTER,
} from './harness.js';

const idleSource = () => Object.assign(new EventEmitter(), { start() {}, close: async () => {} });
const OID = '7a8b9c0d-1e2f-4a3b-8c4d-5e6f7a8b9c0d';
const ALL_BYTES = Buffer.from(Array.from({ length: 256 }, (_, i) => i));

/** Accumulates what a socket receives; `until` resolves when a condition on it holds. */
function reader(socket: Socket) {
  let buf = Buffer.alloc(0);
  const waiters: { pred: (b: Buffer) => boolean; resolve: (b: Buffer) => void; reject: (e: Error) => void }[] = [];
  const check = () => {
    for (const w of [...waiters]) {
      if (w.pred(buf)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(buf);
      }
    }
  };
  socket.on('data', (c: Buffer) => {
    buf = Buffer.concat([buf, c]);
    check();
  });
  socket.on('close', () => {
    for (const w of waiters.splice(0)) w.reject(new Error(`socket closed; received: ${JSON.stringify(buf.toString('latin1'))}`));
  });
  return {
    get data() {
      return buf;
    },
    until: (pred: (b: Buffer) => boolean) =>
      new Promise<Buffer>((resolve, reject) => {
        waiters.push({ pred, resolve, reject });
        check();
      }),
  };
}

const headEnd = (b: Buffer) => b.indexOf('\r\n\r\n');

describe('cluster agent: upgrades are relayed byte for byte', () => {
  let api: TestApiserver;
  let front: Front;
  let agent: ClusterAgent;
  let issuer: Issuer;
  const clients: Socket[] = [];

  beforeAll(async () => {
    issuer = await createIssuer();
  });

  beforeEach(async () => {
    api = await startApiserver();
    // The apiserver's side: 101, then echo the early bytes and everything after.
    api.onUpgrade = (req, socket, head) => {
      socket.write(`HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: ${req.headers.upgrade}\r\n\r\n`);
      if (head.length > 0) socket.write(head);
      socket.pipe(socket);
    };
    agent = await createClusterAgent({
      source: idleSource,
      apiserver: { url: api.url, ca: api.ca, token: AGENT_TOKEN },
      entra: { tenantId: TENANT, issuer: ISSUER, jwks: issuer.jwks },
      cluster: LENIENT_CLUSTER,
    });
    front = await startFront((s) => agent.serveStream(s));
  });

  afterEach(async () => {
    for (const c of clients.splice(0)) c.destroy();
    await front.close();
    await agent.stop();
    await api.close();
  });

  async function open(): Promise<{ socket: Socket; read: ReturnType<typeof reader> }> {
    const socket = connect(front.port, '127.0.0.1');
    clients.push(socket);
    const read = reader(socket);
    await once(socket, 'connect');
    return { socket, read };
  }

  it('relays a WebSocket port-forward upgrade with an Entra token, rewriting only the identity', async () => {
    const token = await issuer.sign({ oid: OID, groups: ['g1', 'g2'] });
    const { socket, read } = await open();
    const early = Buffer.from([0x82, 0x05, 0x00, 0xff, 0x0d, 0x0a, 0x00]);
    socket.write(
      Buffer.concat([
        Buffer.from(
          'GET /api/v1/namespaces/default/pods/web/portforward?ports=8080 HTTP/1.1\r\n' +
            'Host: 127.0.0.1:47011\r\n' +
            'Connection: Upgrade\r\nUpgrade: websocket\r\n' +
            'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n' +
            'Sec-WebSocket-Protocol: SPDY/3.1+portforward.k8s.io\r\n' +
            `Authorization: Bearer ${token}\r\n\r\n`,
        ),
        early,
      ]),
    );
    const answer = await read.until((b) => headEnd(b) >= 0 && b.length >= headEnd(b) + 4 + early.length);
    const end = headEnd(answer);
    expect(answer.subarray(0, end).toString()).toMatch(/^HTTP\/1\.1 101 Switching Protocols\r\n/);
    expect(answer.subarray(end + 4).equals(early)).toBe(true);

    const before = read.data.length;
    socket.write(ALL_BYTES);
    const echoed = await read.until((b) => b.length >= before + ALL_BYTES.length);
    expect(echoed.subarray(before).equals(ALL_BYTES)).toBe(true);

    const seen = api.upgrades[0]!;
    expect(seen.method).toBe('GET');
    expect(seen.url).toBe('/api/v1/namespaces/default/pods/web/portforward?ports=8080');
    expect(headerValues(seen.rawHeaders, 'authorization')).toEqual([`Bearer ${AGENT_TOKEN}`]);
    expect(headerValues(seen.rawHeaders, 'impersonate-user')).toEqual([OID]);
    expect(headerValues(seen.rawHeaders, 'impersonate-group')).toEqual(['g1', 'g2']);
    expect(headerValues(seen.rawHeaders, 'sec-websocket-protocol')).toEqual(['SPDY/3.1+portforward.k8s.io']);
    expect(headerValues(seen.rawHeaders, 'upgrade')).toEqual(['websocket']);
    expect(seen.headers.host).toBe(new URL(api.url).host);
  });

  it('relays a SPDY/3.1 exec upgrade with a service-account token untouched', async () => {
    const { socket, read } = await open();
    socket.write(
      'POST /api/v1/namespaces/default/pods/web/exec?command=sh&stdin=true HTTP/1.1\r\n' +
        'Host: 127.0.0.1:47011\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n' +
        'X-Stream-Protocol-Version: v4.channel.k8s.io\r\nX-Stream-Protocol-Version: v3.channel.k8s.io\r\n' +
        'Authorization: Bearer sa-token\r\nContent-Length: 0\r\n\r\n',
    );
    await read.until((b) => headEnd(b) >= 0);
    expect(read.data.toString('latin1')).toMatch(/^HTTP\/1\.1 101 /);
    const before = read.data.length;
    socket.write(ALL_BYTES);
    const echoed = await read.until((b) => b.length >= before + ALL_BYTES.length);
    expect(echoed.subarray(before).equals(ALL_BYTES)).toBe(true);

    const seen = api.upgrades[0]!;
    expect(seen.method).toBe('POST');
    expect(headerValues(seen.rawHeaders, 'authorization')).toEqual(['Bearer sa-token']);
    expect(headerValues(seen.rawHeaders, 'impersonate-user')).toEqual([]);
    expect(headerValues(seen.rawHeaders, 'x-stream-protocol-version')).toEqual(['v4.channel.k8s.io', 'v3.channel.k8s.io']);
  });

  it('answers a bad Entra token on an upgrade with a raw 401 Status', async () => {
    const token = await issuer.sign({ oid: OID }, { expiresInSeconds: -60 });
    const { socket, read } = await open();
    socket.write(
      `GET /api/v1/namespaces/default/pods/web/exec?command=sh HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nAuthorization: Bearer ${token}\r\n\r\n`,
    );
    await once(socket, 'close');
    const text = read.data.toString();
    expect(text).toMatch(/^HTTP\/1\.1 401 Unauthorized\r\n/);
    const body = JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4)) as Record<string, unknown>;
    expect(body).toMatchObject({ kind: 'Status', reason: 'Unauthorized', code: 401 });
    expect(body.message).toContain('expired');
    expect(text).not.toContain(token);
    expect(api.upgrades).toHaveLength(0);
  });

  it('answers a raw 502 when the apiserver cannot be reached for an upgrade', async () => {
    const lonely = await createClusterAgent({
      source: idleSource,
      apiserver: { url: `https://127.0.0.1:${await closedPort()}`, ca: api.ca, token: AGENT_TOKEN },
      entra: { tenantId: TENANT, issuer: ISSUER, jwks: issuer.jwks },
      cluster: LENIENT_CLUSTER,
    });
    const lonelyFront = await startFront((s) => lonely.serveStream(s));
    try {
      const socket = connect(lonelyFront.port, '127.0.0.1');
      clients.push(socket);
      const read = reader(socket);
      socket.write('GET /exec HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n');
      await once(socket, 'close');
      expect(read.data.toString()).toMatch(/^HTTP\/1\.1 502 Bad Gateway\r\n[\s\S]*"code":502/);
    } finally {
      await lonelyFront.close();
      await lonely.stop();
    }
  });

  it('closes the apiserver connection when the client stream goes away', async () => {
    let upstreamSocket: import('node:stream').Duplex | undefined;
    const echo = api.onUpgrade;
    api.onUpgrade = (req, socket, head) => {
      upstreamSocket = socket;
      echo(req, socket, head);
    };
    const { socket, read } = await open();
    socket.write('GET /exec HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nAuthorization: Bearer sa\r\n\r\n');
    await read.until((b) => headEnd(b) >= 0);
    expect(upstreamSocket).toBeDefined();
    expect(upstreamSocket!.destroyed).toBe(false);
    const upstreamClosed = once(upstreamSocket!, 'close');
    socket.destroy();
    await upstreamClosed;
    expect(upstreamSocket!.destroyed).toBe(true);
  });
});
