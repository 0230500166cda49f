import { EventEmitter, once } from 'node:events';
import { request } from 'node:http';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createClusterAgent, type ClusterAgent } from '../../../../src/emulator/agent/index.js';
import {
  AGENT_TOKEN,
  closedPort,
  createIssuer,
  headerValues,
  ISSUER,
  send,
  startApiserver,
  startFront,
  TENANT,
  type Front,
  type TestApiserver,
  LENIENT_CLUSTER,
} from './harness.js';

const idleSource = () => Object.assign(new EventEmitter(), { start() {}, close: async () => {} });
const SA = 'Bearer not-a-jwt-service-account-token';

describe('cluster agent: request forwarding', () => {
  let api: TestApiserver;
  let front: Front;
  let agent: ClusterAgent;

  beforeEach(async () => {
    api = await startApiserver();
    agent = await createClusterAgent({
      source: idleSource,
      apiserver: { url: api.url, ca: api.ca, token: AGENT_TOKEN },
      entra: { tenantId: TENANT, issuer: ISSUER, jwks: { keys: [] } },
      cluster: LENIENT_CLUSTER,
    });
    front = await startFront((s) => agent.serveStream(s));
  });

  afterEach(async () => {
    await front.close();
    await agent.stop();
    await api.close();
  });

  it('serves several sequential requests on one stream (keep-alive)', async () => {
    api.onRequest = (req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(`seen ${req.url}`);
    };
    const a = await send(front, { path: '/api', headers: { authorization: SA } });
    const b = await send(front, { path: '/apis', headers: { authorization: SA } });
    expect([a.body, b.body]).toEqual(['seen /api', 'seen /apis']);
    expect(front.accepted).toBe(1);
    expect(agent.activeStreams).toBe(1);
    expect(api.requests.map((r) => r.url)).toEqual(['/api', '/apis']);
  });

  describe('a kept-alive apiserver connection closed as a request goes out (its idle timeout)', () => {
    // The apiserver reads the request, then drops the connection without answering, once.
    const dropSecondRequestOnce = () => {
      let seen = 0;
      api.onRequest = (req, res) => {
        if (++seen === 2) {
          req.socket.destroy();
          return;
        }
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end(`seen ${req.url}`);
      };
    };

    it('a GET is sent again on a new connection, as Go’s transport does, and answered', async () => {
      dropSecondRequestOnce();
      await send(front, { path: '/api', headers: { authorization: SA } });
      const b = await send(front, { path: '/apis', headers: { authorization: SA } });
      expect(b).toMatchObject({ status: 200, body: 'seen /apis' });
      expect(api.requests.map((r) => r.url)).toEqual(['/api', '/apis', '/apis']);
    });

    it('a POST is not sent twice: the client gets the 502', async () => {
      dropSecondRequestOnce();
      await send(front, { path: '/api', headers: { authorization: SA } });
      const b = await send(front, {
        method: 'POST',
        path: '/api/v1/namespaces/default/pods',
        headers: { authorization: SA, 'content-type': 'application/json' },
        body: '{}',
      });
      expect(b.status).toBe(502);
      expect(api.requests.map((r) => r.method)).toEqual(['GET', 'POST']);
    });
  });

  it('streams request and response bodies byte for byte, keeping status and end-to-end headers', async () => {
    const payload = Buffer.from(Array.from({ length: 70_000 }, (_, i) => i % 256));
    api.onRequest = (_req, res, body) => {
      res.writeHead(201, 'Made', {
        'content-type': 'application/vnd.kubernetes.protobuf',
        'audit-id': 'a1',
        'x-echo-length': String(body.length),
        'set-cookie': ['a=1', 'b=2'],
      });
      res.end(body);
    };
    const reply = await new Promise<{ status: number; message: string; headers: Record<string, unknown>; raw: string[]; body: Buffer }>((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port: front.port,
          agent: front.client,
          method: 'POST',
          path: '/apis/authentication.k8s.io/v1/selfsubjectreviews',
          headers: { authorization: SA, 'content-type': 'application/vnd.kubernetes.protobuf' },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            resolve({ status: res.statusCode!, message: res.statusMessage!, headers: res.headers, raw: res.rawHeaders, body: Buffer.concat(chunks) }),
          );
        },
      );
      req.on('error', reject);
      // Written in pieces without a length: the request body is chunked on both hops.
      req.write(payload.subarray(0, 30_000));
      req.end(payload.subarray(30_000));
    });
    expect(reply.status).toBe(201);
    expect(reply.message).toBe('Made');
    expect(reply.headers['content-type']).toBe('application/vnd.kubernetes.protobuf');
    expect(reply.headers['audit-id']).toBe('a1');
    expect(headerValues(reply.raw, 'set-cookie')).toEqual(['a=1', 'b=2']);
    expect(reply.body.equals(payload)).toBe(true);
    expect(api.requests[0]!.body.equals(payload)).toBe(true);
    expect(api.requests[0]!.headers['transfer-encoding']).toBe('chunked');
    expect(api.requests[0]!.headers.host).toBe(new URL(api.url).host);
  });

  it('delivers a streamed chunk before the apiserver writes the next one', async () => {
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let secondWritten = false;
    api.onRequest = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"type":"ADDED"}\n');
      void released.then(() => {
        secondWritten = true;
        res.end('{"type":"DELETED"}\n');
      });
    };
    const res = await new Promise<import('node:http').IncomingMessage>((resolve, reject) => {
      const req = request(
        { host: '127.0.0.1', port: front.port, agent: front.client, path: '/api/v1/pods?watch=true', headers: { authorization: SA } },
        resolve,
      );
      req.on('error', reject);
      req.end();
    });
    expect(res.headers['transfer-encoding']).toBe('chunked');
    const [first] = (await once(res, 'data')) as [Buffer];
    expect(first.toString()).toBe('{"type":"ADDED"}\n');
    expect(secondWritten).toBe(false);
    release();
    const rest: Buffer[] = [];
    res.on('data', (c: Buffer) => rest.push(c));
    await once(res, 'end');
    expect(Buffer.concat(rest).toString()).toBe('{"type":"DELETED"}\n');
    expect(secondWritten).toBe(true);
  });

  it('aborts the upstream request when the client goes away', async () => {
    const upstreamClosed = new Promise<boolean>((resolve) => {
      api.onRequest = (_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('{"type":"ADDED"}\n');
        res.on('close', () => resolve(res.writableFinished));
      };
    });
    const req = request({ host: '127.0.0.1', port: front.port, path: '/api/v1/pods?watch=true', headers: { authorization: SA } });
    req.on('error', () => {});
    req.end();
    const [res] = (await once(req, 'response')) as [import('node:http').IncomingMessage];
    await once(res, 'data');
    req.destroy();
    // The apiserver's response closes without having finished: the agent cut it.
    expect(await upstreamClosed).toBe(false);
  });

  it('cuts the client when the apiserver breaks off mid-body', async () => {
    api.onRequest = (req, res) => {
      res.writeHead(200, { 'content-length': '100' });
      res.write('partial');
      setImmediate(() => req.socket.destroy());
    };
    await expect(send(front, { path: '/api/v1/pods/p/log', headers: { authorization: SA } })).rejects.toThrow();
  });

  it('answers 502 with a Status when the apiserver cannot be reached', async () => {
    const port = await closedPort();
    const lonely = await createClusterAgent({
      source: idleSource,
      apiserver: { url: `https://127.0.0.1:${port}`, ca: api.ca, token: AGENT_TOKEN },
      entra: { tenantId: TENANT, issuer: ISSUER, jwks: (await createIssuer()).jwks },
      cluster: LENIENT_CLUSTER,
    });
    const lonelyFront = await startFront((s) => lonely.serveStream(s));
    try {
      const reply = await send(lonelyFront, { path: '/api', headers: { authorization: SA } });
      expect(reply.status).toBe(502);
      const status = JSON.parse(reply.body) as Record<string, unknown>;
      expect(status).toMatchObject({ kind: 'Status', status: 'Failure', code: 502 });
      expect(status.message).toContain('ECONNREFUSED');
      expect(reply.body).not.toContain('not-a-jwt');
    } finally {
      await lonelyFront.close();
      await lonely.stop();
    }
  });
});
