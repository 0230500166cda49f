/**
 * Retry and resume in the proxy: an idempotent request whose fresh stream dies before answering
 * is sent once more; a JSON watch cut mid-stream resumes from the last resourceVersion, a
 * followed log from its last timestamp; other responses cut mid-stream reach kubectl cut short.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { eventResourceVersion, isResumableWatch, resumePath, type ResponseStatus } from '../../../src/proxy/watch-resume.js';
import { PREFIX, clientOptions, get, netDialer, sharedPki, startProxy, startUpstream } from './helpers.js';

const cleanups: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
function own<T extends { close(): Promise<unknown> }>(x: T): T {
  cleanups.push(() => x.close());
  return x;
}

describe('watch resume helpers', () => {
  it('recognises JSON watches only', () => {
    const res = (type: string, status = 200): ResponseStatus => ({ statusCode: status, rawHeaders: ['Content-Type', type] });
    expect(isResumableWatch('GET', '/api/v1/pods?watch=true', res('application/json'))).toBe(true);
    expect(isResumableWatch('GET', '/api/v1/watch/namespaces/default/pods', res('application/json'))).toBe(true);
    expect(isResumableWatch('GET', '/api/v1/pods?watch=1', res('application/vnd.kubernetes.protobuf;stream=watch'))).toBe(false);
    expect(isResumableWatch('GET', '/api/v1/pods', res('application/json'))).toBe(false);
    expect(isResumableWatch('GET', '/api/v1/pods?watch=1', res('application/json', 410))).toBe(false);
    expect(isResumableWatch('POST', '/api/v1/pods?watch=1', res('application/json'))).toBe(false);
  });

  it('resumes from a resourceVersion without initial-event options', () => {
    expect(resumePath('/api/v1/pods?watch=1&resourceVersion=&resourceVersionMatch=NotOlderThan&sendInitialEvents=true&allowWatchBookmarks=true', '42')).toBe(
      '/api/v1/pods?watch=1&resourceVersion=42&allowWatchBookmarks=true',
    );
  });

  it('reads resourceVersions from objects, Tables and bookmarks, not from errors', () => {
    expect(eventResourceVersion('{"type":"ADDED","object":{"metadata":{"resourceVersion":"7"}}}')).toBe('7');
    expect(eventResourceVersion('{"type":"MODIFIED","object":{"kind":"Table","metadata":{},"rows":[{"object":{"metadata":{"resourceVersion":"8"}}}]}}')).toBe(
      '8',
    );
    expect(eventResourceVersion('{"type":"BOOKMARK","object":{"metadata":{"resourceVersion":"9"}}}')).toBe('9');
    expect(eventResourceVersion('{"type":"ERROR","object":{"kind":"Status","code":410,"metadata":{"resourceVersion":"1"}}}')).toBeUndefined();
    expect(eventResourceVersion('{"type":"ADDED","obj')).toBeUndefined();
  });
});

/** Streams a response to the client and resolves with how it ended. */
function stream(port: number, path: string, pki: Awaited<ReturnType<typeof sharedPki>>, onData: (all: string) => void = () => undefined) {
  return new Promise<{ status: number; body: string; ended: 'end' | 'cut' }>((resolve, reject) => {
    const req = httpsRequest(clientOptions(pki, port, { path, method: 'GET' }), (res) => {
      let body = '';
      res.on('data', (d: Buffer) => {
        body += d.toString();
        onData(body);
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, ended: 'end' }));
      res.on('aborted', () => resolve({ status: res.statusCode ?? 0, body, ended: 'cut' }));
      res.on('error', () => resolve({ status: res.statusCode ?? 0, body, ended: 'cut' }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('through the proxy', () => {
  it('sends an idempotent request once more on a fresh stream when the first dies before answering', async () => {
    const pki = await sharedPki();
    let n = 0;
    const upstream = own(await startUpstream((req, res) => (n++ === 0 ? req.socket.destroy() : res.end('second try'))));
    const dialer = netDialer(upstream.port);
    const proxy = own(await startProxy(pki, dialer));
    const res = await get(pki, proxy.port, `${PREFIX}/api/v1/pods`);
    expect(res.status).toBe(200);
    expect(res.body).toBe('second try');
    expect(dialer.dials).toBe(2);
  });

  it('sends an idempotent request up to three more times when a relay drop catches the retries too, then 503', async () => {
    const pki = await sharedPki();
    let n = 0;
    // The first three streams die before answering (the relay dropped them); the fourth answers.
    const upstream = own(await startUpstream((req, res) => (n++ < 3 ? req.socket.destroy() : res.end('fourth try'))));
    const dialer = netDialer(upstream.port);
    const proxy = own(await startProxy(pki, dialer));
    const res = await get(pki, proxy.port, `${PREFIX}/api/v1/pods`);
    expect(res.status).toBe(200);
    expect(res.body).toBe('fourth try');
    expect(dialer.dials).toBe(4);

    // Four answers that never come: the request is not sent a fifth time.
    const dead = own(await startUpstream((req) => req.socket.destroy()));
    const deadProxy = own(await startProxy(pki, netDialer(dead.port)));
    expect((await get(pki, deadProxy.port, `${PREFIX}/api/v1/pods`)).status).toBe(503);
    expect(dead.seen).toHaveLength(4);
  });

  it('does not resend a non-idempotent request on a fresh stream', async () => {
    const pki = await sharedPki();
    const upstream = own(await startUpstream((req) => req.socket.destroy()));
    const proxy = own(await startProxy(pki, netDialer(upstream.port)));
    const res = await get(pki, proxy.port, `${PREFIX}/api/v1/namespaces/default/pods/x`, { method: 'DELETE' });
    expect(res.status).toBe(503);
    expect(upstream.seen).toHaveLength(1);
  });

  it('resumes a JSON watch cut mid-stream from the last resourceVersion; half an event never reaches the client', async () => {
    const pki = await sharedPki();
    const upstream = own(
      await startUpstream((req: IncomingMessage, res: ServerResponse) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        if (upstream.seen.length === 1) {
          res.write('{"type":"ADDED","object":{"metadata":{"name":"a","resourceVersion":"5"}}}\n');
          // Half an event, then the connection is cut.
          res.write('{"type":"ADDED","object":{"metadata":{"name":"b"', () => setTimeout(() => req.socket.destroy(), 20));
        } else {
          res.end('{"type":"ADDED","object":{"metadata":{"name":"b","resourceVersion":"6"}}}\n');
        }
      }),
    );
    const proxy = own(await startProxy(pki, netDialer(upstream.port)));
    const out = await stream(proxy.port, `${PREFIX}/api/v1/pods?watch=true&resourceVersion=1`, pki);
    expect(out.ended).toBe('end');
    expect(
      out.body
        .split('\n')
        .filter(Boolean)
        .map((l) => (JSON.parse(l) as { object: { metadata: { name: string } } }).object.metadata.name),
    ).toEqual(['a', 'b']);
    expect(upstream.seen.map((r) => r.url)).toEqual(['/api/v1/pods?watch=true&resourceVersion=1', '/api/v1/pods?watch=true&resourceVersion=5']);
  });

  it('cuts a non-watch response short when its stream dies mid-body (kubectl sees it, never a clean end)', async () => {
    const pki = await sharedPki();
    const upstream = own(
      await startUpstream((req, res) => {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write('line 1\n', () => setTimeout(() => req.socket.destroy(), 20));
      }),
    );
    const proxy = own(await startProxy(pki, netDialer(upstream.port)));
    const out = await stream(proxy.port, `${PREFIX}/api/v1/namespaces/default/pods/p/log?tailLines=10`, pki);
    expect(out).toMatchObject({ status: 200, body: 'line 1\n', ended: 'cut' });
  });

  it('resumes a followed log cut mid-stream with sinceTime: each line once, without the timestamps kubectl did not ask for', async () => {
    const pki = await sharedPki();
    const T = (n: number) => `2026-01-02T03:04:05.${String(n).padStart(9, '0')}Z`;
    const upstream = own(
      await startUpstream((req, res) => {
        res.writeHead(200, { 'content-type': 'text/plain' });
        if (upstream.seen.length === 1) {
          res.write(`${T(1)} line 1\n${T(2)} line 2\n${T(3)} li`, () => setTimeout(() => req.socket.destroy(), 20));
        } else {
          // The whole second again, as a real cluster answers sinceTime, then the rest.
          res.end(`${T(1)} line 1\n${T(2)} line 2\n${T(3)} line 3\n`);
        }
      }),
    );
    const proxy = own(await startProxy(pki, netDialer(upstream.port)));
    const out = await stream(proxy.port, `${PREFIX}/api/v1/namespaces/default/pods/p/log?follow=true`, pki);
    expect(out).toMatchObject({ status: 200, body: 'line 1\nline 2\nline 3\n', ended: 'end' });
    expect(upstream.seen.map((r) => r.url)).toEqual([
      '/api/v1/namespaces/default/pods/p/log?follow=true&timestamps=true',
      `/api/v1/namespaces/default/pods/p/log?follow=true&timestamps=true&sinceTime=${encodeURIComponent(T(2))}`,
    ]);
  });

  it('keeps at most maxIdleStreams idle streams after a burst', async () => {
    const pki = await sharedPki();
    const waiting: ServerResponse[] = [];
    const upstream = own(
      await startUpstream((_req, res) => {
        waiting.push(res);
        // Answer once all five are in, so five streams are in use at once.
        if (waiting.length === 5) for (const r of waiting) r.end('ok');
      }),
    );
    const dialer = netDialer(upstream.port);
    const proxy = own(await startProxy(pki, dialer, { maxIdleStreams: 2 }));
    const results = await Promise.all(Array.from({ length: 5 }, () => get(pki, proxy.port, `${PREFIX}/api`)));
    expect(results.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    expect(dialer.dials).toBe(5);
    const open = () => upstream.sockets.filter((s) => !s.destroyed && !s.readableEnded).length;
    for (let i = 0; i < 200 && open() > 2; i++) await new Promise((r) => setTimeout(r, 10));
    expect(open()).toBe(2);
  });
});
