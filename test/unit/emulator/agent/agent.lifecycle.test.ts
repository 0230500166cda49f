import { EventEmitter, once } from 'node:events';
import { request, type IncomingMessage, type ServerResponse } from 'node:http';
import { Duplex } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createClusterAgent, type ClusterAgent, type StreamSource } from '../../../../src/emulator/agent/index.js';
import { AGENT_TOKEN, ISSUER, startApiserver, TENANT, type TestApiserver, LENIENT_CLUSTER } from './harness.js';

/** Two cross-wired in-memory Duplexes: not sockets, like a relay WebSocket stream. */
function duplexPair(): [Duplex, Duplex] {
  const ends: Duplex[] = [];
  const make = (peer: () => Duplex) =>
    new Duplex({
      read() {},
      write(chunk: Buffer, _enc, cb) {
        peer().push(chunk);
        cb();
      },
      final(cb) {
        peer().push(null);
        cb();
      },
      destroy(err, cb) {
        if (!peer().destroyed) peer().destroy();
        cb(err);
      },
    });
  ends.push(
    make(() => ends[1]!),
    make(() => ends[0]!),
  );
  return [ends[0]!, ends[1]!];
}

class FakeSource extends EventEmitter implements StreamSource {
  started = 0;
  closed = 0;
  start(): void {
    this.started++;
  }
  async close(): Promise<void> {
    this.closed++;
  }
}

/** Opens a request over an in-memory stream and resolves at the response head. */
function requestOver(stream: Duplex, path: string): Promise<{ req: ReturnType<typeof request>; res: IncomingMessage }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: 'cluster', path, headers: { authorization: 'Bearer sa-token' }, createConnection: () => stream as never }, (res) =>
      resolve({ req, res }),
    );
    req.on('error', reject);
    req.end();
  });
}

describe('cluster agent: listener lifecycle and fault hook', () => {
  let api: TestApiserver;
  let agent: ClusterAgent;
  let sources: FakeSource[];

  beforeEach(async () => {
    api = await startApiserver();
    sources = [];
    agent = await createClusterAgent({
      source: () => {
        const s = new FakeSource();
        sources.push(s);
        return s;
      },
      apiserver: { url: api.url, ca: api.ca, token: AGENT_TOKEN },
      entra: { tenantId: TENANT, issuer: ISSUER, jwks: { keys: [] } },
      cluster: LENIENT_CLUSTER,
    });
  });

  afterEach(async () => {
    await agent.stop();
    await api.close();
  });

  it('starts a listener and serves its connection events, plain Duplex streams included', async () => {
    expect(agent.online).toBe(false);
    agent.start();
    expect(agent.online).toBe(true);
    expect(sources).toHaveLength(1);
    expect(sources[0]!.started).toBe(1);

    const [client, served] = duplexPair();
    sources[0]!.emit('connection', served);
    expect(agent.activeStreams).toBe(1);
    const { res } = await requestOver(client, '/version');
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    await once(res, 'end');
    expect(res.statusCode).toBe(200);
    expect(Buffer.concat(chunks).toString()).toBe('{"kind":"APIVersions"}');
    expect(api.requests.map((r) => r.url)).toEqual(['/version']);
    expect(api.requests[0]!.headers.authorization).toBe('Bearer sa-token');
  });

  it('setOnline(false) closes the listener and destroys active streams; setOnline(true) starts a fresh one', async () => {
    agent.start();
    let upstreamRes!: ServerResponse;
    api.onRequest = (_req, res) => {
      upstreamRes = res;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"type":"ADDED"}\n');
    };
    const [client, served] = duplexPair();
    sources[0]!.emit('connection', served);
    const { res } = await requestOver(client, '/api/v1/pods?watch=true');
    await once(res, 'data');
    const clientErrors: Error[] = [];
    res.on('error', (e) => clientErrors.push(e));
    const clientCut = new Promise<void>((resolve) => res.on('close', resolve));
    const upstreamCut = once(upstreamRes, 'close');

    await agent.setOnline(false);
    expect(agent.online).toBe(false);
    expect(sources[0]!.closed).toBe(1);
    expect(served.destroyed).toBe(true);
    expect(agent.activeStreams).toBe(0);
    await clientCut;
    expect(res.complete).toBe(false);
    expect(clientErrors.map((e) => e.message)).toEqual(['aborted']);
    await upstreamCut;
    expect(upstreamRes.writableFinished).toBe(false);

    // A stream the old listener hands over late is not served.
    const [, late] = duplexPair();
    sources[0]!.emit('connection', late);
    expect(late.destroyed).toBe(true);

    await agent.setOnline(true);
    expect(agent.online).toBe(true);
    expect(sources).toHaveLength(2);
    expect(sources[1]!.started).toBe(1);
    const [client2, served2] = duplexPair();
    sources[1]!.emit('connection', served2);
    const second = await requestOver(client2, '/version');
    expect(second.res.statusCode).toBe(200);
    second.res.resume();
  });

  it('stop() closes the listener and refuses further streams', async () => {
    agent.start();
    await agent.stop();
    expect(agent.online).toBe(false);
    expect(sources[0]!.closed).toBe(1);
    const [, s] = duplexPair();
    agent.serveStream(s);
    expect(s.destroyed).toBe(true);
    expect(agent.activeStreams).toBe(0);
    agent.start();
    expect(sources).toHaveLength(1);
  });
});
