/**
 * Test fixtures for the proxy: a plain HTTP/1.1 server standing in for the cluster agent, a
 * StreamDialer that opens net connections to it (and counts them), and an mTLS client.
 */
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { request as httpsRequest, type RequestOptions } from 'node:https';
import {
  connect as http2Connect,
  type ClientHttp2Session,
  type IncomingHttpHeaders,
  type IncomingHttpStatusHeader,
  type OutgoingHttpHeaders,
} from 'node:http2';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { Duplex } from 'node:stream';
import { ArcproxyError, type ErrorCode } from '../../../src/errors/index.js';
import type { StreamDialer } from '../../../src/tunnel/dialer.js';
import { createSessionPki, type SessionPki } from '../../../src/pki/session-pki.js';
import { startProxyServer, type ProxyServer, type ProxyServerOptions } from '../../../src/proxy/server.js';

export const PREFIX = `/proxies/${'ab12'.repeat(16)}`;

let pkiPromise: Promise<SessionPki> | undefined;
/** One session PKI per test file is enough; making one costs a few milliseconds anyway. */
export function sharedPki(): Promise<SessionPki> {
  return (pkiPromise ??= createSessionPki());
}

export interface Upstream {
  server: Server;
  port: number;
  /** Every request the agent stand-in saw (upgrades included). */
  seen: IncomingMessage[];
  /** Server-side sockets accepted so far. */
  sockets: Socket[];
  close(): Promise<void>;
}

export async function startUpstream(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<Upstream> {
  const seen: IncomingMessage[] = [];
  const sockets: Socket[] = [];
  const server = createHttpServer((req, res) => {
    seen.push(req);
    handler(req, res);
  });
  server.on('connection', (s: Socket) => sockets.push(s));
  server.on('upgrade', (req: IncomingMessage) => seen.push(req));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    server,
    port,
    seen,
    sockets,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

export interface CountingDialer extends StreamDialer {
  dials: number;
}

export function netDialer(port: number, wrap: (s: Socket) => Duplex = (s) => s): CountingDialer {
  const dialer: CountingDialer = {
    dials: 0,
    dial() {
      dialer.dials++;
      return new Promise<Duplex>((resolve, reject) => {
        const s = connect(port, '127.0.0.1');
        s.once('connect', () => {
          s.off('error', reject);
          resolve(wrap(s));
        });
        s.once('error', reject);
      });
    },
  };
  return dialer;
}

export function failingDialer(code: ErrorCode, message: string): CountingDialer {
  const dialer: CountingDialer = {
    dials: 0,
    dial() {
      dialer.dials++;
      return Promise.reject(new ArcproxyError(code, message));
    },
  };
  return dialer;
}

/** A relay stream is a plain Duplex, not a net.Socket: this wraps a socket to prove the pool copes. */
export function plainDuplex(socket: Socket): Duplex {
  const d = new Duplex({
    write(chunk: Buffer, _enc, cb) {
      socket.write(chunk, cb);
    },
    final(cb) {
      socket.end();
      cb();
    },
    read() {
      socket.resume();
    },
    destroy(err, cb) {
      socket.destroy();
      cb(err);
    },
  });
  socket.on('data', (chunk: Buffer) => {
    if (!d.push(chunk)) socket.pause();
  });
  socket.on('end', () => d.push(null));
  socket.on('close', () => d.destroy());
  socket.on('error', (err) => d.destroy(err));
  return d;
}

export async function startProxy(pki: SessionPki, dialer: StreamDialer, extra: Partial<ProxyServerOptions> = {}): Promise<ProxyServer> {
  return startProxyServer({ port: 0, pathPrefix: PREFIX, pki, dialer, auth: { kind: 'passthrough' }, ...extra });
}

export interface ClientResponse {
  status: number;
  headers: IncomingMessage['headers'];
  body: string;
}

export function clientOptions(pki: SessionPki, port: number, extra: RequestOptions = {}): RequestOptions {
  return {
    host: '127.0.0.1',
    port,
    ca: pki.caCert,
    cert: pki.client.cert,
    key: pki.client.key,
    agent: false,
    ...extra,
  };
}

/** One request through the proxy with the session's client certificate; resolves with the whole body. */
export function get(pki: SessionPki, port: number, path: string, extra: RequestOptions = {}, body?: string): Promise<ClientResponse> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(clientOptions(pki, port, { path, ...extra }), (res) => {
      let data = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (data += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: data }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Resolves once `emitter` emits `event`; a test that waits for an event, not for time. */
export function once<T = unknown>(emitter: NodeJS.EventEmitter, event: string): Promise<T> {
  return new Promise((resolve) => emitter.once(event, (v: T) => resolve(v)));
}

/** A promise with its resolve function, for gating an upstream until the test says so. */
export function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((r) => (open = r));
  return { promise, open };
}

/** An HTTP/2 session to the proxy (ALPN h2) with the session's client certificate; resolves once connected. */
export function h2connect(pki: SessionPki, port: number): Promise<ClientHttp2Session> {
  return new Promise((resolve, reject) => {
    const session = http2Connect(`https://127.0.0.1:${port}`, { ca: pki.caCert, cert: pki.client.cert, key: pki.client.key });
    session.once('connect', () => {
      session.off('error', reject);
      resolve(session);
    });
    session.once('error', reject);
  });
}

export interface H2Response {
  status: number;
  headers: IncomingHttpHeaders & IncomingHttpStatusHeader;
  body: string;
}

/** One request on an HTTP/2 session; resolves with the whole body, rejects when the stream is reset. */
export function h2request(session: ClientHttp2Session, path: string, headers: OutgoingHttpHeaders = {}, body?: string | Buffer): Promise<H2Response> {
  return new Promise((resolve, reject) => {
    const stream = session.request({ ':path': path, ...headers }, { endStream: body === undefined });
    let head: (IncomingHttpHeaders & IncomingHttpStatusHeader) | undefined;
    let data = '';
    stream.setEncoding('utf8');
    stream.on('response', (h) => (head = h));
    stream.on('data', (c: string) => (data += c));
    stream.on('end', () => resolve({ status: Number(head?.[':status'] ?? 0), headers: head ?? {}, body: data }));
    stream.on('error', reject);
    if (body !== undefined) stream.end(body);
  });
}

/** What became of an HTTP/2 client stream: its body, whether it ended cleanly, and its reset code. */
export function h2Outcome(stream: import('node:http2').ClientHttp2Stream): Promise<{ body: string; ended: boolean; rstCode: number | undefined }> {
  return new Promise((resolve) => {
    let body = '';
    let ended = false;
    stream.setEncoding('utf8');
    stream.on('data', (c: string) => (body += c));
    stream.on('end', () => (ended = true));
    stream.on('error', () => undefined);
    stream.on('close', () => resolve({ body, ended, rstCode: stream.rstCode }));
  });
}

/** An agent stand-in: /watch sends headers and one line and stays open (`watchClosed` opens when it closes); anything else gets 'ok'. */
export async function startWatchUpstream(): Promise<{ upstream: Upstream; watchClosed: Promise<void> }> {
  const closed = gate();
  const upstream = await startUpstream((req, res) => {
    if (req.url === '/watch') {
      res.writeHead(200);
      res.write('first\n');
      res.on('close', () => closed.open());
    } else res.end('ok');
  });
  return { upstream, watchClosed: closed.promise };
}

/** An agent stand-in that sends its headers at once and its one-line body only when `body` settles (a watch, `logs -f`). */
export function startHeadersFirstUpstream(body: Promise<void>): Promise<Upstream> {
  return startUpstream((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/plain' });
    res.flushHeaders();
    void body.then(() => res.end('line\n'));
  });
}

/** A raw HTTP/1.1 client over TLS with the session's client certificate, for bytes no HTTP client would send. */
export async function rawTlsClient(pki: SessionPki, port: number): Promise<{ socket: TLSSocket; received: () => string }> {
  const socket = tlsConnect({
    host: '127.0.0.1',
    port,
    ca: pki.caCert,
    cert: pki.client.cert,
    key: pki.client.key,
    servername: 'localhost',
    ALPNProtocols: ['http/1.1'],
  });
  await new Promise((resolve, reject) => {
    socket.once('secureConnect', resolve);
    socket.once('error', reject);
  });
  let received = '';
  socket.on('data', (d: Buffer) => (received += d.toString('latin1')));
  return { socket, received: () => received };
}
