/**
 * The HTTP/2 request and response classes on their own, on a bare Node HTTP/2 server: each
 * difference from HTTP/1.1 that http2-compat.ts removes, seen from a client.
 */
import { constants as h2, createSecureServer } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ProxyHttp2Request, ProxyHttp2Response } from '../../../src/proxy/http2-compat.js';
import { gate, h2Outcome, h2connect, sharedPki } from './helpers.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function serve(handler: (req: ProxyHttp2Request, res: ProxyHttp2Response) => void) {
  const pki = await sharedPki();
  const server = createSecureServer(
    { cert: pki.server.cert, key: pki.server.key, Http2ServerRequest: ProxyHttp2Request, Http2ServerResponse: ProxyHttp2Response },
    handler,
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { server, port: (server.address() as AddressInfo).port };
}

async function client(port: number) {
  const s = await h2connect(await sharedPki(), port);
  cleanups.push(() => void s.destroy());
  return s;
}

describe('ProxyHttp2Request', () => {
  it('lists its headers as the HTTP/1.1 request it becomes; url and method still from the pseudo-headers', async () => {
    let seen: { rawHeaders: string[]; url: string; method: string } | undefined;
    const { port } = await serve((req, res) => {
      seen = { rawHeaders: req.rawHeaders, url: req.url, method: req.method };
      req.resume();
      req.on('end', () => res.end());
    });
    const s = await client(port);
    const stream = s.request({ ':method': 'POST', ':path': '/a?b=1', 'content-type': 'application/json' });
    const done = h2Outcome(stream);
    stream.end('{}');
    await done;
    expect(seen).toEqual({
      rawHeaders: ['host', `127.0.0.1:${port}`, 'content-type', 'application/json', 'transfer-encoding', 'chunked'],
      url: '/a?b=1',
      method: 'POST',
    });
  });

  it('fails, with no end, when the client resets it mid-upload', async () => {
    const got = gate();
    let settleOutcome!: (outcome: string) => void;
    const outcome = new Promise<string>((resolve) => (settleOutcome = resolve));
    const { port } = await serve((req) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (c: string) => {
        body += c;
        got.open();
      });
      req.on('end', () => settleOutcome(`end: ${body}`));
      req.on('error', (err: NodeJS.ErrnoException) => settleOutcome(`error ${err.code}: ${body}`));
    });
    const s = await client(port);
    const stream = s.request({ ':method': 'PUT', ':path': '/x' });
    stream.on('error', () => undefined);
    stream.write('half');
    await got.promise;
    // RST_STREAM without END_STREAM, as Go's client cancels.
    stream.destroy(new Error('interrupted'));
    expect(await outcome).toBe('error ECONNRESET: half');
  });
});

describe('ProxyHttp2Response', () => {
  it('resets the stream with INTERNAL_ERROR on destroy(), never a clean end', async () => {
    const { port } = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('partial', () => res.destroy());
    });
    const s = await client(port);
    expect(await h2Outcome(s.request({ ':path': '/' }))).toEqual({ body: 'partial', ended: false, rstCode: h2.NGHTTP2_INTERNAL_ERROR });
  });

  it('is destroyed, and not finished, once the client resets it; finished when it went out whole', async () => {
    const reset = gate();
    const states: Record<string, { destroyed: boolean; writableFinished: boolean }> = {};
    const { port } = await serve((req, res) => {
      res.on('close', () => {
        states[req.url] = { destroyed: res.destroyed, writableFinished: res.writableFinished };
        if (req.url === '/reset') reset.open();
      });
      if (req.url === '/reset') res.write('first');
      else res.end('whole');
    });
    const s = await client(port);
    expect((await h2Outcome(s.request({ ':path': '/whole' }))).ended).toBe(true);
    const stream = s.request({ ':path': '/reset' });
    stream.once('data', () => stream.close(h2.NGHTTP2_CANCEL));
    stream.on('error', () => undefined);
    await reset.promise;
    expect(states['/reset']).toEqual({ destroyed: true, writableFinished: false });
    expect(states['/whole']).toMatchObject({ writableFinished: true });
  });

  it("ends the stream on its last DATA frame, without the wait for trailers Node's compat response always asks for", async () => {
    // Waiting for trailers sends END_STREAM in a frame of its own after the body: one more TLS
    // record and write per response, and the client sees the end a turn later.
    const wantedTrailers: string[] = [];
    const { port } = await serve((req, res) => {
      res.stream.on('wantTrailers', () => wantedTrailers.push(req.url));
      if (req.url === '/head-first') {
        res.writeHead(200, 'OK', ['content-type', 'text/plain']);
        res.write('part, ');
        res.end('end');
      } else if (req.url === '/head-alone') {
        res.writeHead(200, { 'content-type': 'text/plain' });
        setImmediate(() => res.end('late'));
      } else res.end('whole');
    });
    const s = await client(port);
    expect(await h2Outcome(s.request({ ':path': '/head-first' }))).toEqual({ body: 'part, end', ended: true, rstCode: h2.NGHTTP2_NO_ERROR });
    expect(await h2Outcome(s.request({ ':path': '/head-alone' }))).toEqual({ body: 'late', ended: true, rstCode: h2.NGHTTP2_NO_ERROR });
    expect(await h2Outcome(s.request({ ':path': '/whole' }))).toEqual({ body: 'whole', ended: true, rstCode: h2.NGHTTP2_NO_ERROR });
    expect(wantedTrailers).toEqual([]);
  });

  it('takes a reason phrase and a flat header list as HTTP/1.1 writeHead does', async () => {
    const { port } = await serve((_req, res) => {
      res.writeHead(404, 'Not Found', ['content-type', 'application/json', 'warning', 'a', 'warning', 'b']);
      res.end('{}');
    });
    const s = await client(port);
    const stream = s.request({ ':path': '/' });
    const head = new Promise<Record<string, unknown>>((resolve) => stream.once('response', (h) => resolve(h)));
    await h2Outcome(stream);
    expect(await head).toMatchObject({ ':status': 404, 'content-type': 'application/json', warning: 'a, b' });
  });
});
