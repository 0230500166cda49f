/**
 * The proxy against an agent stand-in that writes raw bytes: response framings node:http's own
 * server never produces (close-delimited, Transfer-Encoding with Content-Length, malformed
 * answers), what each request looks like on the wire, and when a stream is retried or reused.
 */
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { request as httpsRequest } from 'node:https';
import { afterEach, describe, expect, it } from 'vitest';
import { PREFIX, clientOptions, get, netDialer, sharedPki, startProxy, startUpstream } from './helpers.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

interface RawRequest {
  head: string;
  /** Which connection it came on (0 = the first accepted). */
  connection: number;
  /** Its index among the requests of that connection. */
  onConnection: number;
  socket: Socket;
}

/**
 * An agent stand-in that reads bodiless request heads and lets `answer` write whatever bytes it
 * likes. Requests with bodies are not supported here (server.forward covers them).
 */
async function rawUpstream(answer: (r: RawRequest) => void): Promise<{ port: number; requests: RawRequest[]; sockets: Socket[] }> {
  const requests: RawRequest[] = [];
  const sockets: Socket[] = [];
  const server: Server = createServer((socket) => {
    const connection = sockets.length;
    sockets.push(socket);
    let buffered = '';
    let count = 0;
    socket.on('error', () => undefined);
    socket.on('data', (d: Buffer) => {
      buffered += d.toString('latin1');
      let end: number;
      while ((end = buffered.indexOf('\r\n\r\n')) !== -1) {
        const r = { head: buffered.slice(0, end + 4), connection, onConnection: count++, socket };
        buffered = buffered.slice(end + 4);
        requests.push(r);
        answer(r);
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  );
  return { port: (server.address() as AddressInfo).port, requests, sockets };
}

async function proxyTo(port: number, extra: Parameters<typeof startProxy>[2] = {}) {
  const pki = await sharedPki();
  const dialer = netDialer(port);
  const proxy = await startProxy(pki, dialer, extra);
  cleanups.push(() => proxy.close(0));
  return {
    pki,
    proxy,
    dialer,
    get: (path: string, opts: Parameters<typeof get>[3] = {}, body?: string) => get(pki, proxy.port, `${PREFIX}${path}`, opts, body),
  };
}

/** Streams a response to the client and resolves with how it ended. */
function readToEnd(pki: Awaited<ReturnType<typeof sharedPki>>, port: number, path: string) {
  return new Promise<{ status: number; body: string; ended: 'end' | 'cut'; headers: Record<string, unknown> }>((resolve, reject) => {
    const req = httpsRequest(clientOptions(pki, port, { path: `${PREFIX}${path}` }), (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, ended: 'end', headers: res.headers }));
      res.on('aborted', () => resolve({ status: res.statusCode ?? 0, body, ended: 'cut', headers: res.headers }));
      res.on('error', () => resolve({ status: res.statusCode ?? 0, body, ended: 'cut', headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('proxy: response framing from the agent', () => {
  it('relays a close-delimited body whole, and does not reuse its stream', async () => {
    const up = await rawUpstream(({ socket }) => socket.end('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nall of it\nuntil close\n'));
    const { pki, proxy, dialer } = await proxyTo(up.port);
    const first = await readToEnd(pki, proxy.port, '/log');
    expect(first).toMatchObject({ status: 200, body: 'all of it\nuntil close\n', ended: 'end' });
    await readToEnd(pki, proxy.port, '/log');
    expect(dialer.dials).toBe(2);
  });

  it('relays a chunked body that also carries Content-Length without passing the Content-Length on', async () => {
    const up = await rawUpstream(({ socket }) =>
      socket.write('HTTP/1.1 200 OK\r\nContent-Length: 999\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n'),
    );
    const { pki, proxy, dialer } = await proxyTo(up.port);
    const res = await readToEnd(pki, proxy.port, '/x');
    expect(res).toMatchObject({ status: 200, body: 'hello world', ended: 'end' });
    expect(res.headers['content-length']).toBeUndefined();
    await readToEnd(pki, proxy.port, '/x');
    // Suspect framing: that stream was not reused.
    expect(dialer.dials).toBe(2);
  });

  it('answers HEAD, 204 and 304 without a body and keeps the stream for the next request', async () => {
    const up = await rawUpstream(({ head, socket }) => {
      if (head.startsWith('HEAD')) socket.write('HTTP/1.1 200 OK\r\nContent-Length: 1234\r\nContent-Type: application/json\r\n\r\n');
      else if (head.includes('/nothing')) socket.write('HTTP/1.1 204 No Content\r\n\r\n');
      else socket.write('HTTP/1.1 304 Not Modified\r\nETag: "x"\r\n\r\n');
    });
    const { get, dialer } = await proxyTo(up.port);
    const head = await get('/api', { method: 'HEAD' });
    expect(head).toMatchObject({ status: 200, body: '' });
    expect(head.headers['content-length']).toBe('1234');
    expect((await get('/nothing')).status).toBe(204);
    const notModified = await get('/cached', { headers: { 'If-None-Match': '"x"' } });
    expect(notModified.status).toBe(304);
    expect(notModified.headers.etag).toBe('"x"');
    expect(dialer.dials).toBe(1);
    expect(up.requests.map((r) => r.connection)).toEqual([0, 0, 0]);
  });

  it('skips an interim 100 Continue and relays the final response', async () => {
    const up = await rawUpstream(({ socket }) => socket.write('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'));
    const { get } = await proxyTo(up.port);
    expect(await get('/api')).toMatchObject({ status: 200, body: 'ok' });
  });

  it('answers 502 with a Status for a malformed response, and for a 101 nobody asked for', async () => {
    const up = await rawUpstream(({ head, socket }) => {
      if (head.includes('/folded')) socket.write('HTTP/1.1 200 OK\r\nX-A: a\r\n b\r\nContent-Length: 0\r\n\r\n');
      else socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n');
    });
    const { get } = await proxyTo(up.port);
    const folded = await get('/folded');
    expect(folded.status).toBe(502);
    expect(JSON.parse(folded.body)).toMatchObject({ kind: 'Status', reason: 'BadGateway', code: 502 });
    expect(JSON.parse(folded.body).message).toMatch(/^arcproxy: the cluster agent sent a response that cannot be relayed: obs-fold/);
    const switched = await get('/switched');
    expect(switched.status).toBe(502);
    expect(JSON.parse(switched.body).message).toContain('101 Switching Protocols');
  });

  it('does not retry once part of an answer has come; kubectl gets a 503', async () => {
    const up = await rawUpstream(({ socket }) => socket.end('HTTP/1.1 200 OK\r\nContent-Le'));
    const { get } = await proxyTo(up.port);
    const res = await get('/api');
    expect(res.status).toBe(503);
    expect(JSON.parse(res.body).message).toContain('ARCPROXY_TUNNEL_CLOSED');
    expect(up.requests).toHaveLength(1);
  });
});

describe('proxy: requests on the wire, reuse and retry', () => {
  it('sends pooled requests with Connection: keep-alive, and a bodiless POST with Content-Length: 0', async () => {
    const up = await rawUpstream(({ socket }) => socket.write('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'));
    const { get } = await proxyTo(up.port);
    await get('/api/v1/pods?limit=1', { headers: { Accept: 'application/json' } });
    await get('/apis/x', { method: 'POST' });
    const lines = up.requests.map((r) => r.head.split('\r\n'));
    expect(lines[0]![0]).toBe('GET /api/v1/pods?limit=1 HTTP/1.1');
    expect(lines[0]).toContain('Accept: application/json');
    expect(lines[0]).toContain('Connection: keep-alive');
    expect(lines[0]!.some((l) => /^content-length/i.test(l))).toBe(false);
    expect(lines[1]![0]).toBe('POST /apis/x HTTP/1.1');
    expect(lines[1]).toContain('Content-Length: 0');
  });

  it('retries a bodiless request whose reused stream dies before answering, on a fresh stream with Connection: close', async () => {
    const up = await rawUpstream(({ onConnection, connection, socket }) => {
      // The second request on the first connection finds it dead (a relay drop while idle).
      if (connection === 0 && onConnection === 1) socket.destroy();
      else socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
    });
    const { get, dialer } = await proxyTo(up.port);
    expect((await get('/first')).body).toBe('ok');
    // DELETE is not idempotent, but on a reused stream the request never got an answer.
    const res = await get('/api/v1/namespaces/d/pods/p', { method: 'DELETE' });
    expect(res).toMatchObject({ status: 200, body: 'ok' });
    expect(dialer.dials).toBe(2);
    expect(up.requests.map((r) => [r.connection, r.head.split('\r\n')[0]])).toEqual([
      [0, 'GET /first HTTP/1.1'],
      [0, 'DELETE /api/v1/namespaces/d/pods/p HTTP/1.1'],
      [1, 'DELETE /api/v1/namespaces/d/pods/p HTTP/1.1'],
    ]);
    expect(up.requests[2]!.head).toContain('\r\nConnection: close\r\n');
  });

  it('does not retry a non-idempotent request that died on a new stream', async () => {
    const up = await rawUpstream(({ socket }) => socket.destroy());
    const { get } = await proxyTo(up.port);
    expect((await get('/x', { method: 'DELETE' })).status).toBe(503);
    expect(up.requests).toHaveLength(1);
  });

  it('answers 400, without the token, when the Entra token would break the request head', async () => {
    const up = await rawUpstream(({ socket }) => socket.write('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'));
    const { get, dialer } = await proxyTo(up.port, { auth: { kind: 'entra', getToken: async () => 'SECRET\r\nImpersonate-User: admin' } });
    const res = await get('/api');
    expect(res.status).toBe(400);
    expect(JSON.parse(res.body).message).toBe('arcproxy: cannot forward this request: invalid character in header Authorization');
    expect(res.body).not.toContain('SECRET');
    expect(dialer.dials).toBe(0);
  });
});

describe('proxy: request bodies', () => {
  it('re-chunks a chunked body for any method (a DELETE with a body)', async () => {
    const upstream = await startUpstream((req, res) => {
      let got = '';
      req.setEncoding('utf8');
      req.on('data', (c: string) => (got += c));
      req.on('end', () => res.end(JSON.stringify({ got, te: req.headers['transfer-encoding'] ?? null, method: req.method })));
    });
    cleanups.push(() => upstream.close());
    const { pki, proxy } = await proxyTo(upstream.port);
    const result = await new Promise<string>((resolve, reject) => {
      const req = httpsRequest(
        clientOptions(pki, proxy.port, { method: 'DELETE', path: `${PREFIX}/api/v1/namespaces/d/pods/p`, headers: { 'Transfer-Encoding': 'chunked' } }),
        (res) => {
          let d = '';
          res.on('data', (c: Buffer) => (d += c.toString()));
          res.on('end', () => resolve(d));
        },
      );
      req.on('error', reject);
      req.write('{"propagationPolicy":');
      req.end('"Foreground"}');
    });
    expect(JSON.parse(result)).toEqual({ got: '{"propagationPolicy":"Foreground"}', te: 'chunked', method: 'DELETE' });
  });

  it('reuses the stream after a request with a body', async () => {
    const upstream = await startUpstream((req, res) => {
      req.resume();
      req.on('end', () => res.end('done'));
    });
    cleanups.push(() => upstream.close());
    const { get, dialer } = await proxyTo(upstream.port);
    for (let i = 0; i < 3; i++) {
      const body = `payload ${i}`;
      expect(await get('/apis/x', { method: 'POST', headers: { 'Content-Length': Buffer.byteLength(body) } }, body)).toMatchObject({
        status: 200,
        body: 'done',
      });
    }
    expect(dialer.dials).toBe(1);
  });
});
