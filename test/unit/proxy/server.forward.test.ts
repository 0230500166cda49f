import { request as httpsRequest } from 'node:https';
import type { IncomingMessage } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import type { ProxyServer } from '../../../src/proxy/server.js';
import type { RequestLogEntry } from '../../../src/proxy/log.js';
import {
  PREFIX,
  clientOptions,
  gate,
  get,
  netDialer,
  once,
  plainDuplex,
  sharedPki,
  startProxy,
  startUpstream,
  type Upstream,
  startHeadersFirstUpstream,
  startWatchUpstream,
} from './helpers.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});
function own<T extends { close(): Promise<void> }>(x: T): T {
  cleanups.push(() => x.close());
  return x;
}

async function echoUpstream(): Promise<Upstream> {
  return own(
    await startUpstream((req, res) => {
      res.setHeader('Content-Type', 'application/json');
      res.end(JSON.stringify({ url: req.url, method: req.method, rawHeaders: req.rawHeaders }));
    }),
  );
}

describe('proxy server: TLS', () => {
  it('refuses a client without the session client certificate at the TLS layer', async () => {
    const pki = await sharedPki();
    const upstream = await echoUpstream();
    const proxy = own(await startProxy(pki, netDialer(upstream.port)));
    const outcome = await new Promise<string>((resolve) => {
      const req = httpsRequest({ host: '127.0.0.1', port: proxy.port, path: `${PREFIX}/api`, ca: pki.caCert, agent: false }, () => resolve('response'));
      req.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
      req.end();
    });
    expect(outcome).not.toBe('response');
    expect(upstream.seen).toHaveLength(0);
  });
});

describe('proxy server: ordinary requests', () => {
  it('Entra mode: the agent sees the injected bearer token and none of the client identity headers', async () => {
    const pki = await sharedPki();
    const upstream = await echoUpstream();
    let calls = 0;
    const proxy = own(
      await startProxy(pki, netDialer(upstream.port), {
        auth: { kind: 'entra', getToken: async () => `entra-token-${++calls}` },
      }),
    );
    const res = await get(pki, proxy.port, `${PREFIX}/api/v1/namespaces?limit=5`, {
      headers: {
        Authorization: 'Bearer from-kubeconfig',
        'Impersonate-User': 'admin',
        'Impersonate-Group': 'system:masters',
        Accept: 'application/vnd.kubernetes.protobuf',
      },
    });
    expect(res.status).toBe(200);
    const seen = JSON.parse(res.body) as { url: string; rawHeaders: string[] };
    expect(seen.url).toBe('/api/v1/namespaces?limit=5');
    const auth = upstream.seen[0]!.headers.authorization;
    expect(auth).toBe('Bearer entra-token-1');
    expect(Object.keys(upstream.seen[0]!.headers).filter((h) => h.startsWith('impersonate-'))).toEqual([]);
    expect(upstream.seen[0]!.headers.accept).toBe('application/vnd.kubernetes.protobuf');
  });

  it('passthrough mode keeps the client Authorization', async () => {
    const pki = await sharedPki();
    const upstream = await echoUpstream();
    const proxy = own(await startProxy(pki, netDialer(upstream.port)));
    const res = await get(pki, proxy.port, `${PREFIX}/version`, { headers: { Authorization: 'Bearer sa-token' } });
    expect(res.status).toBe(200);
    expect(upstream.seen[0]!.headers.authorization).toBe('Bearer sa-token');
  });

  it('strips the prefix (an empty remainder becomes /) and answers other paths with a 404 Status', async () => {
    const pki = await sharedPki();
    const upstream = await echoUpstream();
    const dialer = netDialer(upstream.port);
    const proxy = own(await startProxy(pki, dialer));
    expect(JSON.parse((await get(pki, proxy.port, PREFIX)).body).url).toBe('/');
    expect(JSON.parse((await get(pki, proxy.port, `${PREFIX}/apis/apps/v1`)).body).url).toBe('/apis/apps/v1');
    const dialsBefore = dialer.dials;
    const wrong = await get(pki, proxy.port, '/api/v1/pods');
    expect(wrong.status).toBe(404);
    expect(wrong.headers['content-type']).toBe('application/json');
    const status = JSON.parse(wrong.body);
    expect(status).toMatchObject({ kind: 'Status', status: 'Failure', reason: 'NotFound', code: 404 });
    expect(status.message).toContain(PREFIX);
    expect(status.message).toContain('kubeconfig');
    expect(dialer.dials).toBe(dialsBefore);
  });

  it('reuses kept-alive streams: 10 sequential requests need fewer dials than requests', async () => {
    const pki = await sharedPki();
    const upstream = await echoUpstream();
    const dialer = netDialer(upstream.port);
    const proxy = own(await startProxy(pki, dialer));
    for (let i = 0; i < 10; i++) expect((await get(pki, proxy.port, `${PREFIX}/api/${i}`)).status).toBe(200);
    expect(upstream.seen.map((r) => r.url)).toEqual(Array.from({ length: 10 }, (_, i) => `/api/${i}`));
    expect(dialer.dials).toBeGreaterThan(0);
    expect(dialer.dials).toBeLessThan(10);
  });

  it('works on streams that are plain Duplexes (as relay streams are), with reuse', async () => {
    const pki = await sharedPki();
    const upstream = await echoUpstream();
    const dialer = netDialer(upstream.port, plainDuplex);
    const proxy = own(await startProxy(pki, dialer));
    for (let i = 0; i < 5; i++) expect((await get(pki, proxy.port, `${PREFIX}/x`)).status).toBe(200);
    expect(dialer.dials).toBe(1);
  });

  it('closes idle pooled streams after idleStreamTimeoutMs and dials afresh', async () => {
    const pki = await sharedPki();
    const upstream = await echoUpstream();
    const dialer = netDialer(upstream.port);
    const proxy = own(await startProxy(pki, dialer, { idleStreamTimeoutMs: 30 }));
    await get(pki, proxy.port, `${PREFIX}/a`);
    await once(upstream.sockets[0]!, 'close');
    await get(pki, proxy.port, `${PREFIX}/b`);
    expect(dialer.dials).toBe(2);
  });

  it('streams a chunked response: the first chunk reaches the client before the agent sends the second', async () => {
    const pki = await sharedPki();
    const second = gate();
    const upstream = own(
      await startUpstream((_req, res) => {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.write('{"type":"ADDED"}\n');
        void second.promise.then(() => res.end('{"type":"MODIFIED"}\n'));
      }),
    );
    const proxy = own(await startProxy(pki, netDialer(upstream.port)));
    const chunks: string[] = [];
    await new Promise<void>((resolve, reject) => {
      const req = httpsRequest(clientOptions(pki, proxy.port, { path: `${PREFIX}/api/v1/pods?watch=true` }), (res) => {
        expect(res.headers['transfer-encoding']).toBe('chunked');
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          chunks.push(c);
          // Only once the first event is here does the agent send the next one.
          if (chunks.length === 1) second.open();
        });
        res.on('end', resolve);
      });
      req.on('error', reject);
      req.end();
    });
    expect(chunks).toEqual(['{"type":"ADDED"}\n', '{"type":"MODIFIED"}\n']);
  });

  it('sends response headers at once, before any body byte (watch, logs -f)', async () => {
    const pki = await sharedPki();
    const body = gate();
    const upstream = own(await startHeadersFirstUpstream(body.promise));
    const proxy = own(await startProxy(pki, netDialer(upstream.port)));
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = httpsRequest(clientOptions(pki, proxy.port, { path: `${PREFIX}/log?follow=true` }), resolve);
      req.on('error', reject);
      req.end();
    });
    expect(res.statusCode).toBe(200);
    body.open();
    res.setEncoding('utf8');
    let text = '';
    for await (const c of res) text += c;
    expect(text).toBe('line\n');
  });

  it('streams a request body: the agent sees the first part before the client sends the second', async () => {
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
        req.on('end', () => res.end(JSON.stringify({ got, te: req.headers['transfer-encoding'] ?? null })));
      }),
    );
    const proxy = own(await startProxy(pki, netDialer(upstream.port)));
    const result = await new Promise<string>((resolve, reject) => {
      const req = httpsRequest(
        clientOptions(pki, proxy.port, { method: 'POST', path: `${PREFIX}/apis/x`, headers: { 'Content-Type': 'application/json' } }),
        (res) => {
          let d = '';
          res.on('data', (c: Buffer) => (d += c.toString()));
          res.on('end', () => resolve(d));
        },
      );
      req.on('error', reject);
      req.write('part1;');
      void firstSeen.promise.then(() => req.end('part2'));
    });
    expect(JSON.parse(result)).toEqual({ got: 'part1;part2', te: 'chunked' });
  });

  it('passes binary bodies through untouched, with Content-Length', async () => {
    const pki = await sharedPki();
    const upstream = own(
      await startUpstream((req, res) => {
        const parts: Buffer[] = [];
        req.on('data', (c: Buffer) => parts.push(c));
        req.on('end', () => {
          res.setHeader('Content-Type', 'application/vnd.kubernetes.protobuf');
          res.end(Buffer.concat(parts).reverse());
        });
      }),
    );
    const proxy = own(await startProxy(pki, netDialer(upstream.port)));
    const payload = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const back = await new Promise<Buffer>((resolve, reject) => {
      const req = httpsRequest(
        clientOptions(pki, proxy.port, {
          method: 'POST',
          path: `${PREFIX}/apis/authentication.k8s.io/v1/selfsubjectreviews`,
          headers: { 'Content-Length': payload.length },
        }),
        (res) => {
          const parts: Buffer[] = [];
          res.on('data', (c: Buffer) => parts.push(c));
          res.on('end', () => resolve(Buffer.concat(parts)));
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
    expect(upstream.seen[0]!.headers['content-length']).toBe('256');
    expect(back.equals(Buffer.from(payload).reverse())).toBe(true);
  });

  it('aborts the upstream request when kubectl disconnects, and does not reuse that stream', async () => {
    const pki = await sharedPki();
    const { upstream: watchUpstream, watchClosed } = await startWatchUpstream();
    const upstream = own(watchUpstream);
    const dialer = netDialer(upstream.port);
    const proxy = own(await startProxy(pki, dialer));
    await new Promise<void>((resolve) => {
      const req = httpsRequest(clientOptions(pki, proxy.port, { path: `${PREFIX}/watch` }), (res) => {
        res.once('data', () => {
          req.destroy();
          resolve();
        });
      });
      req.on('error', () => undefined);
      req.end();
    });
    await watchClosed;
    expect((await get(pki, proxy.port, `${PREFIX}/other`)).body).toBe('ok');
    expect(dialer.dials).toBe(2);
    expect(proxy.activeRequests).toBe(0);
  });

  it('reports each request to onRequest without tokens, secret-looking query values redacted', async () => {
    const pki = await sharedPki();
    const upstream = await echoUpstream();
    const entries: RequestLogEntry[] = [];
    const proxy: ProxyServer = own(
      await startProxy(pki, netDialer(upstream.port), {
        auth: { kind: 'entra', getToken: async () => 'SECRET-ENTRA-TOKEN' },
        onRequest: (e) => entries.push(e),
      }),
    );
    const res = await get(
      pki,
      proxy.port,
      `${PREFIX}/api/v1/pods?fieldSelector=x&token=SECRET-QUERY`,
      {
        method: 'POST',
        headers: { Authorization: 'Bearer SECRET-CLIENT', 'Content-Length': 5 },
      },
      'hello',
    );
    await get(pki, proxy.port, '/elsewhere');
    expect(entries).toHaveLength(2);
    const [first, second] = entries;
    expect(first).toMatchObject({
      method: 'POST',
      path: '/api/v1/pods?fieldSelector=x&token=[redacted]',
      status: 200,
      bytesIn: 5,
      bytesOut: Buffer.byteLength(res.body),
      upgrade: false,
    });
    expect(first!.durationMs).toBeGreaterThanOrEqual(0);
    expect(second).toMatchObject({ method: 'GET', status: 404, upgrade: false });
    const logged = JSON.stringify(entries);
    for (const secret of ['SECRET-ENTRA-TOKEN', 'SECRET-QUERY', 'SECRET-CLIENT']) expect(logged).not.toContain(secret);
  });
});
