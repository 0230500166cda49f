/**
 * The listener over HTTP/2, as kubectl (client-go) uses it: every request and watch multiplexed on
 * one TLS connection, while the relay side stays one HTTP/1.1 stream per request. HTTP/1.1 and
 * upgrades keep working on the same listener.
 */
import { Http2ServerResponse, connect as http2Connect, constants as h2, type ClientHttp2Session, type ClientHttp2Stream, type Settings } from 'node:http2';
import { connect as netConnect } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import type { IncomingMessage } from 'node:http';
import { Agent, request as httpsRequest, type RequestOptions } from 'node:https';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { RequestLogEntry } from '../../../src/proxy/log.js';
import type { SessionPki } from '../../../src/pki/session-pki.js';
import {
  PREFIX,
  gate,
  get,
  h2connect,
  h2request,
  netDialer,
  once,
  sharedPki,
  startProxy,
  startUpstream,
  type Upstream,
  startHeadersFirstUpstream,
  startWatchUpstream,
  h2Outcome,
} from './helpers.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
  vi.restoreAllMocks();
});
function own<T extends { close(): Promise<void> }>(x: T): T {
  cleanups.push(() => x.close());
  return x;
}
async function session(pki: SessionPki, port: number): Promise<ClientHttp2Session> {
  const s = await h2connect(pki, port);
  cleanups.push(() => void s.destroy());
  return s;
}

/** The agent stand-in: echoes what it got (method, url, headers, body) as JSON. */
async function echoUpstream(): Promise<Upstream> {
  return own(
    await startUpstream((req, res) => {
      const parts: Buffer[] = [];
      req.on('data', (c: Buffer) => parts.push(c));
      req.on('end', () => {
        res.setHeader('Content-Type', 'application/json');
        res.end(JSON.stringify({ method: req.method, url: req.url, rawHeaders: req.rawHeaders, body: Buffer.concat(parts).toString('utf8') }));
      });
    }),
  );
}

interface Echo {
  method: string;
  url: string;
  rawHeaders: string[];
  body: string;
}
const headerNames = (e: Echo) => e.rawHeaders.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase());
const header = (e: Echo, name: string) => {
  const i = e.rawHeaders.findIndex((n, j) => j % 2 === 0 && n.toLowerCase() === name);
  return i === -1 ? undefined : e.rawHeaders[i + 1];
};

/** Opens a stream and resolves with it and its response headers, without reading the body. */
function openStream(s: ClientHttp2Session, path: string, headers: Record<string, string> = {}): Promise<{ stream: ClientHttp2Stream; status: number }> {
  return new Promise((resolve, reject) => {
    const stream = s.request({ ':path': path, ...headers });
    stream.once('response', (h) => resolve({ stream, status: Number(h[':status']) }));
    stream.once('error', reject);
  });
}

/** How a stream ended: cleanly ('end'), or reset (with its RST_STREAM code). */

describe('HTTP/2 listener: negotiation', () => {
  it('offers h2 first by ALPN, still http/1.1 to a client that offers only that', async () => {
    const pki = await sharedPki();
    const proxy = own(await startProxy(pki, netDialer(1)));
    const alpn = (offer: string[]) =>
      new Promise<string | false | null>((resolve, reject) => {
        const s = tlsConnect({ host: '127.0.0.1', port: proxy.port, ca: pki.caCert, cert: pki.client.cert, key: pki.client.key, ALPNProtocols: offer }, () => {
          resolve(s.alpnProtocol);
          s.destroy();
        });
        s.on('error', reject);
      });
    expect(await alpn(['h2', 'http/1.1'])).toBe('h2');
    expect(await alpn(['http/1.1'])).toBe('http/1.1');
  });

  it('advertises enough concurrent streams for 1,000 watches on one connection', async () => {
    const pki = await sharedPki();
    const proxy = own(await startProxy(pki, netDialer(1)));
    const s = http2Connect(`https://127.0.0.1:${proxy.port}`, { ca: pki.caCert, cert: pki.client.cert, key: pki.client.key });
    cleanups.push(() => void s.destroy());
    // The server's SETTINGS frame; until it arrives the client assumes no limit.
    const settings = await once<Settings>(s, 'remoteSettings');
    expect(settings.maxConcurrentStreams).toBeGreaterThanOrEqual(1000);
    expect(settings.maxConcurrentStreams).toBeLessThan(2 ** 32 - 1);
  });
});

describe('HTTP/2 listener: requests', () => {
  it('GET: no pseudo-header reaches the agent, Host comes from :authority, no body is made up', async () => {
    const pki = await sharedPki();
    const upstream = await echoUpstream();
    const proxy = own(await startProxy(pki, netDialer(upstream.port)));
    const s = await session(pki, proxy.port);
    const res = await h2request(s, `${PREFIX}/api/v1/namespaces/default/pods?limit=500`, {
      authorization: 'Bearer sa-token',
      accept: 'application/json',
      cookie: 'a=1',
      'user-agent': 'kubectl/v1.35.0',
    });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/json');
    const seen = JSON.parse(res.body) as Echo;
    expect(seen.method).toBe('GET');
    expect(seen.url).toBe('/api/v1/namespaces/default/pods?limit=500');
    expect(headerNames(seen).filter((n) => n.startsWith(':'))).toEqual([]);
    expect(header(seen, 'host')).toBe(`127.0.0.1:${proxy.port}`);
    expect(header(seen, 'authorization')).toBe('Bearer sa-token');
    expect(header(seen, 'user-agent')).toBe('kubectl/v1.35.0');
    expect(header(seen, 'transfer-encoding')).toBeUndefined();
    expect(header(seen, 'content-length')).toBeUndefined();
    expect(seen.body).toBe('');
  });

  it('POST with a body and no Content-Length is sent chunked, streamed as it comes', async () => {
    const pki = await sharedPki();
    const firstSeen = gate();
    const upstream = own(
      await startUpstream((req, res) => {
        let got = '';
        req.setEncoding('utf8');
        req.on('data', (c: string) => {
          got += c;
          if (got === 'part1;') firstSeen.open();
        });
        req.on('end', () => res.end(JSON.stringify({ got, te: req.headers['transfer-encoding'] ?? null, cl: req.headers['content-length'] ?? null })));
      }),
    );
    const proxy = own(await startProxy(pki, netDialer(upstream.port)));
    const s = await session(pki, proxy.port);
    const stream = s.request({ ':path': `${PREFIX}/api/v1/namespaces/default/configmaps`, ':method': 'POST', 'content-type': 'application/json' });
    const done = h2Outcome(stream);
    stream.write('part1;');
    await firstSeen.promise;
    stream.end('part2');
    const result = await done;
    expect(result.ended).toBe(true);
    expect(JSON.parse(result.body)).toEqual({ got: 'part1;part2', te: 'chunked', cl: null });
  });

  it('keeps a Content-Length the client sent, and frames a DELETE body too', async () => {
    const pki = await sharedPki();
    const upstream = await echoUpstream();
    const proxy = own(await startProxy(pki, netDialer(upstream.port)));
    const s = await session(pki, proxy.port);
    const put = JSON.parse((await h2request(s, `${PREFIX}/api/x`, { ':method': 'PUT', 'content-length': '5' }, 'hello')).body) as Echo;
    expect(put.body).toBe('hello');
    expect(header(put, 'content-length')).toBe('5');
    expect(header(put, 'transfer-encoding')).toBeUndefined();
    // Node's http.request would not frame a DELETE body of unknown length by itself.
    const del = JSON.parse((await h2request(s, `${PREFIX}/api/x`, { ':method': 'DELETE' }, '{"propagationPolicy":"Background"}')).body) as Echo;
    expect(del.method).toBe('DELETE');
    expect(del.body).toBe('{"propagationPolicy":"Background"}');
    expect(header(del, 'transfer-encoding')).toBe('chunked');
  });

  it('relays bodiless answers: HEAD, 204 and 304', async () => {
    const pki = await sharedPki();
    const upstream = own(
      await startUpstream((req, res) => {
        if (req.url === '/gone') res.writeHead(204).end();
        else if (req.url === '/same') res.writeHead(304, { ETag: '"1"' }).end();
        else res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': 2 }).end(req.method === 'HEAD' ? undefined : '{}');
      }),
    );
    const proxy = own(await startProxy(pki, netDialer(upstream.port)));
    const s = await session(pki, proxy.port);
    expect(await h2request(s, `${PREFIX}/x`, { ':method': 'HEAD' })).toMatchObject({ status: 200, body: '', headers: { 'content-length': '2' } });
    expect(await h2request(s, `${PREFIX}/gone`, { ':method': 'DELETE' })).toMatchObject({ status: 204, body: '' });
    expect(await h2request(s, `${PREFIX}/same`)).toMatchObject({ status: 304, body: '', headers: { etag: '"1"' } });
    expect(await h2request(s, `${PREFIX}/x`)).toMatchObject({ status: 200, body: '{}' });
  });

  it('answers a path outside the prefix with a 404 Status, without dialling', async () => {
    const pki = await sharedPki();
    const dialer = netDialer(1);
    const proxy = own(await startProxy(pki, dialer));
    const s = await session(pki, proxy.port);
    const res = await h2request(s, '/api/v1/pods');
    expect(res.status).toBe(404);
    expect(res.headers['content-type']).toBe('application/json');
    expect(JSON.parse(res.body)).toMatchObject({ kind: 'Status', reason: 'NotFound', code: 404 });
    expect(dialer.dials).toBe(0);
  });

  it('answers 503 with a Status when the tunnel fails', async () => {
    const pki = await sharedPki();
    // Nothing listens on port 1: every dial fails.
    const proxy = own(await startProxy(pki, netDialer(1)));
    const s = await session(pki, proxy.port);
    const res = await h2request(s, `${PREFIX}/api/v1/pods`);
    expect(res.status).toBe(503);
    expect(JSON.parse(res.body)).toMatchObject({ kind: 'Status', reason: 'ServiceUnavailable', code: 503 });
  });

  it('relays a response with hop-by-hop headers and a reason phrase, which HTTP/2 cannot carry', async () => {
    const pki = await sharedPki();
    // Node's compat writeHead prints an UnsupportedWarning for a reason phrase (once per process,
    // so the warning itself cannot be watched for here).
    const writeHead = vi.spyOn(Http2ServerResponse.prototype, 'writeHead');
    const upstream = own(
      await startUpstream((_req, res) => {
        res.writeHead(201, 'Created Indeed', {
          'Content-Type': 'text/plain',
          Connection: 'keep-alive, X-Hop',
          'Keep-Alive': 'timeout=5',
          'X-Hop': 'x',
          Warning: '299 - "deprecated"',
        });
        res.end('made');
      }),
    );
    const proxy = own(await startProxy(pki, netDialer(upstream.port)));
    const s = await session(pki, proxy.port);
    const res = await h2request(s, `${PREFIX}/api/x`);
    expect(res.status).toBe(201);
    expect(res.body).toBe('made');
    expect(res.headers.warning).toBe('299 - "deprecated"');
    for (const hop of ['connection', 'keep-alive', 'x-hop', 'transfer-encoding']) expect(res.headers[hop]).toBeUndefined();
    expect(writeHead).toHaveBeenCalledTimes(1);
    expect(typeof writeHead.mock.calls[0]![1]).not.toBe('string');
  });

  it('answers 502 for a response HTTP/2 cannot carry (a repeated single-value header), and carries on', async () => {
    const pki = await sharedPki();
    const upstream = own(
      await startUpstream((req, res) => {
        if (req.url === '/bad') res.setHeader('Location', ['/a', '/b']);
        res.setHeader('Content-Type', 'text/plain');
        res.end('fine');
      }),
    );
    const proxy = own(await startProxy(pki, netDialer(upstream.port)));
    const s = await session(pki, proxy.port);
    const bad = await h2request(s, `${PREFIX}/bad`);
    expect(bad.status).toBe(502);
    expect(bad.headers.location).toBeUndefined();
    expect(JSON.parse(bad.body)).toMatchObject({ kind: 'Status', reason: 'BadGateway', code: 502 });
    expect((await h2request(s, `${PREFIX}/good`)).body).toBe('fine');
  });

  it('keeps taking new streams while the client reads none of 300 busy ones', async () => {
    const pki = await sharedPki();
    const chunk = Buffer.alloc(64 * 1024, 'x');
    const upstream = own(
      await startUpstream((req, res) => {
        res.writeHead(200, { 'Content-Type': 'text/plain' });
        if (req.url === '/version') {
          res.end('v1');
          return;
        }
        // Far more than the client's flow-control window lets through: the rest waits in the proxy.
        for (let i = 0; i < 4; i++) res.write(chunk);
      }),
    );
    const proxy = own(await startProxy(pki, netDialer(upstream.port)));
    const s = await session(pki, proxy.port);
    // Each stream's flow-control window fills and the rest queues in the proxy: the client never reads.
    const busy = await Promise.all(Array.from({ length: 300 }, (_, i) => openStream(s, `${PREFIX}/logs/${i}`)));
    const res = await h2request(s, `${PREFIX}/version`);
    expect(res).toMatchObject({ status: 200, body: 'v1' });
    for (const { stream } of busy) stream.close(h2.NGHTTP2_CANCEL);
  });

  it('sends response headers before any body byte (watch, logs -f)', async () => {
    const pki = await sharedPki();
    const body = gate();
    const upstream = own(await startHeadersFirstUpstream(body.promise));
    const proxy = own(await startProxy(pki, netDialer(upstream.port)));
    const s = await session(pki, proxy.port);
    const { stream, status } = await openStream(s, `${PREFIX}/api/v1/namespaces/d/pods/p/log?follow=true`);
    expect(status).toBe(200);
    const done = h2Outcome(stream);
    body.open();
    expect(await done).toMatchObject({ body: 'line\n', ended: true });
  });

  it('carries 200 long responses on one connection, each with its own relay stream, all streaming', async () => {
    const pki = await sharedPki();
    const n = 200;
    const next = gate();
    const upstream = own(
      await startUpstream((req, res) => {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.write(`{"type":"ADDED","path":"${req.url}"}\n`);
        void next.promise.then(() => res.write('{"type":"MODIFIED"}\n'));
      }),
    );
    const dialer = netDialer(upstream.port);
    const proxy = own(await startProxy(pki, dialer));
    const s = await session(pki, proxy.port);
    // All at once on the one session: none waits for another to finish.
    const streams = await Promise.all(Array.from({ length: n }, (_, i) => openStream(s, `${PREFIX}/api/v1/pods/${i}?watch=1`)));
    const firsts = await Promise.all(
      streams.map(({ stream }) => new Promise<string>((resolve) => stream.once('data', (c: Buffer) => resolve(c.toString('utf8'))))),
    );
    firsts.forEach((text, i) => expect(text).toBe(`{"type":"ADDED","path":"/api/v1/pods/${i}?watch=1"}\n`));
    expect(proxy.activeRequests).toBe(n);
    expect(dialer.dials).toBe(n);
    next.open();
    const seconds = await Promise.all(
      streams.map(({ stream }) => new Promise<string>((resolve) => stream.once('data', (c: Buffer) => resolve(c.toString('utf8'))))),
    );
    expect(seconds.every((t) => t === '{"type":"MODIFIED"}\n')).toBe(true);
    expect(upstream.seen).toHaveLength(n);

    // kubectl stops watching: every relay stream is closed, the session stays.
    const upstreamGone = upstream.sockets.map((sock) => once(sock, 'close'));
    for (const { stream } of streams) stream.close(h2.NGHTTP2_CANCEL);
    await Promise.all(upstreamGone);
    expect((await h2request(s, '/elsewhere')).status).toBe(404);
    expect(s.closed).toBe(false);
    expect(proxy.activeRequests).toBe(0);
  });
});

describe('HTTP/2 listener: cuts both ways', () => {
  it('resets the stream (not a clean end) when the response is cut short upstream', async () => {
    const pki = await sharedPki();
    const upstream = own(
      await startUpstream((_req, res) => {
        res.writeHead(200, { 'Content-Type': 'text/plain' });
        res.write('line 1\n', () => res.socket?.destroy());
      }),
    );
    const proxy = own(await startProxy(pki, netDialer(upstream.port)));
    const s = await session(pki, proxy.port);
    const { stream } = await openStream(s, `${PREFIX}/api/v1/namespaces/d/pods/p/log?tailLines=5`);
    const result = await h2Outcome(stream);
    expect(result.body).toBe('line 1\n');
    expect(result.ended).toBe(false);
    expect(result.rstCode).toBe(h2.NGHTTP2_INTERNAL_ERROR);
    // Only that stream: the session carries on.
    expect((await h2request(s, '/elsewhere')).status).toBe(404);
  });

  it('destroys the relay stream when the client resets its stream mid-response, and does not reuse it', async () => {
    const pki = await sharedPki();
    const { upstream: watchUpstream, watchClosed } = await startWatchUpstream();
    const upstream = own(watchUpstream);
    const dialer = netDialer(upstream.port);
    const proxy = own(await startProxy(pki, dialer));
    const s = await session(pki, proxy.port);
    const { stream } = await openStream(s, `${PREFIX}/watch`);
    await once(stream, 'data');
    stream.close(h2.NGHTTP2_CANCEL);
    await watchClosed;
    expect((await h2request(s, `${PREFIX}/other`)).body).toBe('ok');
    expect(dialer.dials).toBe(2);
    expect(proxy.activeRequests).toBe(0);
  });

  it('never lets a reset upload reach the agent as a complete body', async () => {
    const pki = await sharedPki();
    const firstSeen = gate();
    let settle!: (outcome: string) => void;
    const upstreamOutcome = new Promise<string>((resolve) => (settle = resolve));
    const upstream = own(
      await startUpstream((req, res) => {
        let got = '';
        req.setEncoding('utf8');
        req.on('data', (c: string) => {
          got += c;
          firstSeen.open();
        });
        req.on('end', () => {
          settle(`complete: ${got}`);
          res.end();
        });
        req.on('close', () => settle(`cut: ${got}`));
      }),
    );
    const proxy = own(await startProxy(pki, netDialer(upstream.port)));
    const s = await session(pki, proxy.port);
    const stream = s.request({ ':path': `${PREFIX}/api/v1/namespaces/default/configmaps`, ':method': 'POST' });
    stream.on('error', () => undefined);
    stream.write('part1;');
    await firstSeen.promise;
    // RST_STREAM without END_STREAM, as Go's client cancels (Node's stream.close() ends the body first).
    stream.destroy(new Error('kubectl was interrupted'));
    expect(await upstreamOutcome).toBe('cut: part1;');
  });

  it('sends nothing upstream for a request the client reset while its token was being fetched', async () => {
    const pki = await sharedPki();
    const token = gate();
    const asked = gate();
    const gone = gate();
    const upstream = await echoUpstream();
    const dialer = netDialer(upstream.port);
    const proxy = own(
      await startProxy(pki, dialer, {
        auth: {
          kind: 'entra',
          getToken: async () => {
            asked.open();
            await token.promise;
            return 'entra-token';
          },
        },
        // Logged once the proxy has seen the client go.
        onRequest: (e) => {
          if (e.path === '/api/v1/pods') gone.open();
        },
      }),
    );
    const s = await session(pki, proxy.port);
    const stream = s.request({ ':path': `${PREFIX}/api/v1/pods` });
    stream.on('error', () => undefined);
    await asked.promise;
    stream.close(h2.NGHTTP2_CANCEL);
    await gone.promise;
    token.open();
    expect((await h2request(s, `${PREFIX}/api/v1/namespaces`)).status).toBe(200);
    expect(upstream.seen.map((r) => r.url)).toEqual(['/api/v1/namespaces']);
    expect(dialer.dials).toBe(1);
  });
});

describe('HTTP/2 listener: watch resume', () => {
  it('resumes a JSON watch cut mid-stream, on the same HTTP/2 stream', async () => {
    const pki = await sharedPki();
    const upstream = own(
      await startUpstream((req, res) => {
        const rv = new URL(req.url ?? '/', 'http://x').searchParams.get('resourceVersion');
        res.writeHead(200, { 'Content-Type': 'application/json' });
        if (rv === null) {
          res.write('{"type":"ADDED","object":{"metadata":{"name":"a","resourceVersion":"7"}}}\n', () => res.socket?.destroy());
        } else {
          res.end(`{"type":"ADDED","object":{"metadata":{"name":"b","resourceVersion":"8"}},"from":"${rv}"}\n`);
        }
      }),
    );
    const proxy = own(await startProxy(pki, netDialer(upstream.port)));
    const s = await session(pki, proxy.port);
    const res = await h2request(s, `${PREFIX}/api/v1/namespaces/default/pods?watch=1`);
    const events = res.body
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { object: { metadata: { name: string } }; from?: string });
    expect(events.map((e) => e.object.metadata.name)).toEqual(['a', 'b']);
    expect(events[1]!.from).toBe('7');
  });
});

describe('HTTP/1.1 on the same listener', () => {
  it('serves HTTP/1.1 requests while an HTTP/2 session is open', async () => {
    const pki = await sharedPki();
    const upstream = await echoUpstream();
    const proxy = own(await startProxy(pki, netDialer(upstream.port)));
    const s = await session(pki, proxy.port);
    expect((await h2request(s, `${PREFIX}/version`)).status).toBe(200);
    const h1 = await get(pki, proxy.port, `${PREFIX}/version`, { ALPNProtocols: ['http/1.1'] } as RequestOptions);
    expect(h1.status).toBe(200);
    expect(header(JSON.parse(h1.body) as Echo, 'host')).toBe(`127.0.0.1:${proxy.port}`);
    // Node's http client sends no ALPN at all: HTTP/1.1 too.
    expect((await get(pki, proxy.port, '/elsewhere')).status).toBe(404);
  });

  it('closes a kept-alive HTTP/1.1 connection after the idle timeout, as before', async () => {
    const pki = await sharedPki();
    const upstream = await echoUpstream();
    const proxy = own(await startProxy(pki, netDialer(upstream.port), { idleConnectionTimeoutMs: 50 }));
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    cleanups.push(() => agent.destroy());
    const { socket, keepAlive } = await new Promise<{ socket: Socket; keepAlive: string | undefined }>((resolve, reject) => {
      const req = httpsRequest(
        { host: '127.0.0.1', port: proxy.port, path: `${PREFIX}/version`, ca: pki.caCert, cert: pki.client.cert, key: pki.client.key, agent },
        (res) => {
          res.resume();
          res.on('end', () => resolve({ socket: req.socket!, keepAlive: String(res.headers['keep-alive']) }));
        },
      );
      req.on('error', reject);
      req.end();
    });
    expect(keepAlive).toMatch(/^timeout=\d+$/);
    await once(socket, 'close');
  });

  it('still fires upgrades (exec, port-forward) for HTTP/1.1 connections', async () => {
    const pki = await sharedPki();
    const upstream = own(await startUpstream((_req, res) => res.end('not an upgrade')));
    upstream.server.on('upgrade', (_req: IncomingMessage, socket: Duplex) => {
      socket.write('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n\r\n');
      socket.pipe(socket);
    });
    const entries: RequestLogEntry[] = [];
    const upgradeLogged = gate();
    const proxy = own(
      await startProxy(pki, netDialer(upstream.port), {
        onRequest: (e) => {
          entries.push(e);
          if (e.upgrade) upgradeLogged.open();
        },
      }),
    );
    // An HTTP/2 session on the same listener, as kubectl has for its other requests.
    const s = await session(pki, proxy.port);
    expect((await h2request(s, `${PREFIX}/version`)).status).toBe(200);

    // client-go dials upgrades offering only http/1.1.
    const socket = await new Promise<TLSSocket>((resolve, reject) => {
      const t = tlsConnect(
        { host: '127.0.0.1', port: proxy.port, ca: pki.caCert, cert: pki.client.cert, key: pki.client.key, ALPNProtocols: ['http/1.1'] },
        () => resolve(t),
      );
      t.on('error', reject);
    });
    cleanups.push(() => void socket.destroy());
    expect(socket.alpnProtocol).toBe('http/1.1');
    socket.write(
      `POST ${PREFIX}/api/v1/namespaces/d/pods/p/exec?command=sh HTTP/1.1\r\nHost: 127.0.0.1:${proxy.port}\r\n` +
        'Connection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: v4.channel.k8s.io\r\n\r\n',
    );
    let got = '';
    await new Promise<void>((resolve) => {
      socket.on('data', (c: Buffer) => {
        got += c.toString('latin1');
        if (got.includes('\r\n\r\n')) resolve();
      });
    });
    expect(got.startsWith('HTTP/1.1 101 Switching Protocols\r\n')).toBe(true);
    const frame = Buffer.from([0x80, 0x03, 0x00, 0x01, 0x00]);
    const echoed = new Promise<Buffer>((resolve) => {
      let back = Buffer.alloc(0);
      socket.on('data', (c: Buffer) => {
        back = Buffer.concat([back, c]);
        if (back.length >= frame.length) resolve(back);
      });
    });
    socket.write(frame);
    expect([...(await echoed)]).toEqual([...frame]);
    expect(upstream.seen.at(-1)!.headers.upgrade).toBe('SPDY/3.1');
    socket.destroy();
    await upgradeLogged.promise;
    expect(entries.find((e) => e.upgrade)).toMatchObject({ status: 101, httpVersion: '1.1' });
    expect(entries.find((e) => !e.upgrade)).toMatchObject({ path: '/version', status: 200, httpVersion: '2.0' });
  });
});

describe('HTTP/2 listener: idle sessions and close()', () => {
  it('closes a session with no stream open after the idle timeout, never one with a quiet watch', async () => {
    const pki = await sharedPki();
    const upstream = own(
      await startUpstream((req, res) => {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        if (req.url === '/quiet') {
          res.flushHeaders();
          // Quiet for several idle timeouts before the next event.
          setTimeout(() => res.end('{"type":"MODIFIED"}\n'), 300);
        } else res.end('{}');
      }),
    );
    const proxy = own(await startProxy(pki, netDialer(upstream.port), { idleConnectionTimeoutMs: 50 }));
    const s = await session(pki, proxy.port);
    let goaway = false;
    s.on('goaway', () => (goaway = true));
    const closed = once(s, 'close');
    const res = await h2request(s, `${PREFIX}/quiet`);
    expect(res.body).toBe('{"type":"MODIFIED"}\n');
    expect(goaway).toBe(false);
    // Now nothing is open: the session goes.
    await closed;
    expect(goaway).toBe(true);
  });

  it('lets an in-flight HTTP/2 request finish within the grace period, refusing new streams', async () => {
    const pki = await sharedPki();
    const finish = gate();
    const upstream = own(
      await startUpstream((_req, res) => {
        res.writeHead(200, { 'Content-Type': 'text/plain' });
        res.write('start;');
        void finish.promise.then(() => res.end('end'));
      }),
    );
    const proxy = await startProxy(pki, netDialer(upstream.port));
    const s = await session(pki, proxy.port);
    const { stream } = await openStream(s, `${PREFIX}/logs`);
    const reading = h2Outcome(stream);
    const goaway = once(s, 'goaway');
    let closed = false;
    const closing = proxy.close(10_000).then(() => (closed = true));
    await goaway;
    await expect(h2request(s, `${PREFIX}/later`)).rejects.toThrow();
    expect(closed).toBe(false);
    finish.open();
    await closing;
    expect(await reading).toMatchObject({ body: 'start;end', ended: true });
    expect(proxy.activeRequests).toBe(0);
  });

  it('resets HTTP/2 streams that outlive the grace period and resolves promptly', async () => {
    const pki = await sharedPki();
    const requestClosed = gate();
    const upstream = own(
      await startUpstream((req, res) => {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.write('{"kind":"PodList","items":[');
        req.socket.once('close', () => requestClosed.open());
      }),
    );
    const proxy = await startProxy(pki, netDialer(upstream.port));
    const s = await session(pki, proxy.port);
    // A list that never finishes: a request that ends by itself gets the grace, then a reset.
    const { stream } = await openStream(s, `${PREFIX}/api/v1/pods`);
    const reading = h2Outcome(stream);
    const sessionClosed = once(s, 'close');
    const started = performance.now();
    await proxy.close(50);
    expect(performance.now() - started).toBeLessThan(5_000);
    const result = await reading;
    expect(result.ended).toBe(false);
    expect(result.body).toBe('{"kind":"PodList","items":[');
    expect(result.rstCode).toBe(h2.NGHTTP2_INTERNAL_ERROR);
    await requestClosed.promise;
    await sessionClosed;
    expect(proxy.activeRequests).toBe(0);
  });

  it.each([
    // A JSON watch is forwarded event by event (watch-resume.ts): the half event never went out.
    ['a watch', '/api/v1/pods?watch=1', 'application/json', '{"type":"ADDED"}\n{"type":"MOD', 'IFIED"}\n{"type":"DELETED"}\n', '{"type":"ADDED"}\n'],
    // A followed log is forwarded line by line (log-resume.ts): the half line never went out.
    ['logs -f', '/api/v1/namespaces/default/pods/p/log?follow=true', 'text/plain', 'line 1\nline 2 is lo', 'ng\nline 3\n', 'line 1\n'],
  ])('ends %s cleanly at close, after GOAWAY and between two messages, without waiting for the grace', async (_, path, type, first, rest, expected) => {
    const pki = await sharedPki();
    const requestClosed = gate();
    const upstream = own(
      await startUpstream((req, res) => {
        res.writeHead(200, { 'Content-Type': type });
        res.write(first);
        req.socket.once('close', () => requestClosed.open());
        // The rest of the message under way comes only once the stop has begun.
        void goaway.then(() => res.write(rest));
      }),
    );
    const proxy = await startProxy(pki, netDialer(upstream.port));
    const s = await session(pki, proxy.port);
    const goaway = once(s, 'goaway');
    const { stream } = await openStream(s, `${PREFIX}${path}`);
    const reading = h2Outcome(stream);
    await once(stream, 'data');
    const started = performance.now();
    await proxy.close(10_000);
    expect(performance.now() - started).toBeLessThan(5_000);
    const result = await reading;
    expect(result).toMatchObject({ ended: true, body: expected });
    expect(result.rstCode ?? h2.NGHTTP2_NO_ERROR).toBe(h2.NGHTTP2_NO_ERROR);
    await requestClosed.promise;
    expect(proxy.activeRequests).toBe(0);
  });

  it('closes idle HTTP/2 sessions and half-open connections at once', { timeout: 15_000 }, async () => {
    const pki = await sharedPki();
    const proxy = await startProxy(pki, netDialer(1));
    const s = await session(pki, proxy.port);
    const sessionClosed = once(s, 'close');
    // A TCP connection that never starts its TLS handshake must not hold close() up either.
    const raw = netConnect(proxy.port, '127.0.0.1');
    await once(raw, 'connect');
    const rawClosed = once(raw, 'close');
    // Nothing is in flight, so the grace must not be waited for: a minute of it would show as a
    // close() still pending at the 5 s deadline (the deadline is the measurement, not a wait).
    let deadline: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      proxy.close(60_000).then(() => 'closed'),
      new Promise<string>((resolve) => (deadline = setTimeout(() => resolve('still closing after 5 s'), 5_000))),
    ]);
    clearTimeout(deadline);
    expect(outcome).toBe('closed');
    await sessionClosed;
    await rawClosed;
  });
});
