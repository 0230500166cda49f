/**
 * The local HTTPS listener kubectl talks to: mutual TLS with the session CA, the kubeconfig's
 * /proxies/<hash> path prefix, ordinary requests over pooled streams and upgrades on fresh ones.
 * It speaks HTTP/2 and HTTP/1.1 (ALPN). Over HTTP/2 a client multiplexes all its requests and
 * watches on one TLS connection, instead of one connection, with its TLS memory, per watch; each
 * request still gets a relay stream of its own, carrying HTTP/1.1 (docs/protocol.md). Upgrades
 * (exec, attach, port-forward) always come over HTTP/1.1: client-go offers only http/1.1 for them.
 * It owns every socket, session, stream and timer it makes, and close() releases them all.
 */
import { setMaxListeners } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createSecureServer, type ServerHttp2Session } from 'node:http2';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { performance } from 'node:perf_hooks';
import type { UpstreamAuth } from './auth.js';
import type { StreamDialer } from '../tunnel/dialer.js';
import { ListenError, PortInUseError } from './errors.js';
import { forwardRequest } from './forward-request.js';
import { forwardUpgrade } from './forward-upgrade.js';
import { ProxyHttp2Request, ProxyHttp2Response } from './http2-compat.js';
import type { RequestLogEntry } from './log.js';
import type { SessionPki } from '../pki/session-pki.js';
import { sendStatus, writeRawStatus } from './status.js';
import { StreamPool } from './stream-pool.js';

export { PortInUseError, ListenError } from './errors.js';
export { statusBody } from './status.js';
export type { RequestLogEntry } from './log.js';

export interface ProxyServerOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** 0 = any free port. */
  port: number;
  /** '/proxies/<64 hex>', the path of the kubeconfig's server URL. */
  pathPrefix: string;
  /**
   * The session's certificates. A promise lets the port open (and a busy port fail) while they
   * are still being made; TLS handshakes succeed once they are installed (`secured`).
   */
  pki: SessionPki | Promise<SessionPki>;
  dialer: StreamDialer;
  auth: UpstreamAuth;
  /**
   * Most idle pooled streams, default 128. Too low a bound makes a busy kubectl (or helm, with its
   * bursts of parallel requests) close and re-dial relay connections between requests; idle ones
   * still close after idleStreamTimeoutMs.
   */
  maxIdleStreams?: number;
  /** Idle pooled streams are closed after this long, default 60000. */
  idleStreamTimeoutMs?: number;
  /**
   * A kubectl connection with no request in flight is closed after this long, default 30000: the
   * HTTP/1.1 keep-alive timeout, and for HTTP/2 a session with no stream open.
   */
  idleConnectionTimeoutMs?: number;
  onRequest?: (e: RequestLogEntry) => void;
}

export interface ProxyServer {
  readonly port: number;
  /** Requests and upgrades in flight. */
  readonly activeRequests: number;
  /** Settles once the session's certificates are installed; rejects when they could not be made. */
  readonly secured: Promise<void>;
  /**
   * Dials one relay stream into the request pool now, so the first request does not wait for a
   * dial. Resolves true when one is ready, false when the dial failed (the dialer reports why).
   */
  prewarm(): Promise<boolean>;
  /** Stops accepting, lets in-flight requests finish within graceMs (default SHUTDOWN_GRACE_MS), then aborts them; closes pooled streams. */
  close(graceMs?: number): Promise<void>;
}

/**
 * How long in-flight requests may run on after a stop (a signal, or the end of a run-mode command)
 * before they are aborted: the one value the listener, the session and the CLI use. 5 s lets an
 * ordinary request already on its way through the relay (a get, an apply, a helm upload) finish
 * while a stop still feels prompt; watches and `logs -f` never finish on their own and are cut
 * either way. With SESSION_FLUSH_MS after it the whole stop stays well under the 10 s `docker stop`
 * (and Kubernetes' 30 s) give before SIGKILL, so arcproxy exits 0 on its own. The README and
 * docs/scripting.md promise "up to 5 s".
 */
export const SHUTDOWN_GRACE_MS = 5_000;
const DEFAULT_IDLE_CONNECTION_MS = 30_000;
/** How long close() lets HTTP/2 sessions write their last frames before destroying their sockets. */
const SESSION_FLUSH_MS = 1_000;
/**
 * Streams one HTTP/2 session may have open at once. client-go opens a stream per request and per
 * watch, and an informer-heavy controller, k9s or a big `helm` run can hold hundreds of watches;
 * at the limit Go's transport does not fail, it opens another TLS connection, which is the very
 * memory this listener saves. So well above 1,000 watches, yet bounded: each stream costs a relay
 * stream upstream.
 */
const MAX_STREAMS_PER_SESSION = 4_096;
/**
 * Node's budget for one HTTP/2 session (MB; default 10). It counts open streams and response bytes
 * queued for the client; once over it Node refuses new streams (ENHANCE_YOUR_CALM) and, after 100
 * refusals, destroys the session with every watch on it. One session now carries what used to be
 * a connection per watch, each with a budget of its own, and with backpressure each busy stream
 * queues a few tens of KB (a write's high-water mark plus a chunk from the relay): 10 MB is gone
 * after a few hundred watches a slow client is behind on. A limit, not an allocation.
 */
const MAX_SESSION_MEMORY_MB = 256;

type ProxyRequest = IncomingMessage | ProxyHttp2Request;
type ProxyResponse = ServerResponse | ProxyHttp2Response;

/** Splits req.url into the upstream path (prefix stripped) and the log path (no query), or undefined when the prefix does not match. */
export function stripPrefix(url: string, prefix: string): { path: string; logPath: string } | undefined {
  if (!url.startsWith(prefix)) return undefined;
  let rest = url.slice(prefix.length);
  const next = rest.charCodeAt(0);
  // '/proxies/abc' must not match '/proxies/abcdef'.
  if (rest.length > 0 && next !== 0x2f /* / */ && next !== 0x3f /* ? */) return undefined;
  if (rest.length === 0 || next === 0x3f) rest = `/${rest}`;
  const q = rest.indexOf('?');
  return { path: rest, logPath: q === -1 ? rest : rest.slice(0, q) };
}

export async function startProxyServer(opts: ProxyServerOptions): Promise<ProxyServer> {
  const host = opts.host ?? '127.0.0.1';
  const prefix = opts.pathPrefix.endsWith('/') ? opts.pathPrefix.slice(0, -1) : opts.pathPrefix;
  const shutdown = new AbortController();
  // Every relay dial in progress listens for shutdown, and a client opening its watches starts
  // hundreds at once: without this Node warns of a listener leak on stderr at the eleventh.
  setMaxListeners(0, shutdown.signal);
  const pool = new StreamPool({
    dialer: opts.dialer,
    maxIdleStreams: opts.maxIdleStreams ?? 128,
    idleStreamTimeoutMs: opts.idleStreamTimeoutMs ?? 60_000,
    signal: shutdown.signal,
  });
  const idleConnectionMs = opts.idleConnectionTimeoutMs ?? DEFAULT_IDLE_CONNECTION_MS;
  const inFlight = new Set<ProxyResponse | Duplex>();
  /** Raw TCP sockets: every connection, whatever its protocol or handshake state, for close(). */
  const sockets = new Set<Socket>();
  const sessions = new Set<ServerHttp2Session>();
  let drained: (() => void) | undefined;
  let closing: Promise<void> | undefined;

  const track = (item: ProxyResponse | Duplex): void => {
    inFlight.add(item);
    item.once('close', () => {
      inFlight.delete(item);
      if (inFlight.size === 0) drained?.();
    });
  };

  /** The request log callback for one request, which adds the HTTP version kubectl spoke. */
  const logFor = (req: ProxyRequest): ((e: RequestLogEntry) => void) | undefined => {
    const onRequest = opts.onRequest;
    if (!onRequest) return undefined;
    const httpVersion = req.httpVersion;
    return (e) => onRequest({ ...e, httpVersion });
  };

  /** Logs an answer the proxy gave itself (wrong path, shutting down). */
  const logLocal = (req: ProxyRequest, stream: ProxyResponse | Duplex, upgrade: boolean, bytesOut: number, status?: number): void => {
    const onRequest = logFor(req);
    if (!onRequest) return;
    const started = performance.now();
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    stream.once('close', () =>
      onRequest({
        method: req.method ?? 'GET',
        path: q === -1 ? url : url.slice(0, q),
        status: status ?? (stream as ProxyResponse).statusCode,
        durationMs: performance.now() - started,
        bytesIn: 0,
        bytesOut,
        upgrade,
      }),
    );
  };

  const wrongPath = (): string =>
    `arcproxy: no such path. This proxy serves only paths under ${prefix}, the server path in the kubeconfig arcproxy ` +
    `wrote (server: https://${host.includes(':') ? `[${host}]` : host}:${port}${prefix}). Use that kubeconfig's context.`;
  const stopping = 'arcproxy is shutting down; start it again, then retry.';

  const contextOptions = (pki: SessionPki) => ({ cert: pki.server.cert, key: pki.server.key, ca: [pki.caCert], minVersion: 'TLSv1.2' as const });
  const pkiNow = 'caCert' in opts.pki ? opts.pki : undefined;
  // With allowHTTP1, Node offers ALPN h2 then http/1.1 itself; a client that offers no ALPN gets
  // HTTP/1.1.
  const server = createSecureServer({
    ...(pkiNow ? contextOptions(pkiNow) : { minVersion: 'TLSv1.2' }),
    requestCert: true,
    rejectUnauthorized: true,
    allowHTTP1: true,
    // As https.createServer does: a watch event must not wait for an ACK (Nagle). HTTP/2 sets it itself.
    noDelay: true,
    Http2ServerRequest: ProxyHttp2Request,
    Http2ServerResponse: ProxyHttp2Response,
    settings: { maxConcurrentStreams: MAX_STREAMS_PER_SESSION },
    maxSessionMemory: MAX_SESSION_MEMORY_MB,
  });
  // HTTP/1.1 connections are served by Node's http.Server code, configured by these properties
  // (not by createSecureServer's options); with allowHTTP1 Node would cut a request after 5 minutes.
  Object.assign(server, {
    // Clients are local and authenticated by certificate; a long upload must not be cut.
    requestTimeout: 0,
    keepAliveTimeout: idleConnectionMs,
    requireHostHeader: true,
  });

  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });

  server.on('session', (session: ServerHttp2Session) => {
    sessions.add(session);
    // HTTP/2's keepAliveTimeout: a session with no stream open for idleConnectionMs is closed
    // (GOAWAY, after which the client opens a new connection when it needs one). Never one with
    // a stream open, however quiet the watch on it: Node's own session timeout would, since it
    // counts frames, not streams.
    let open = 0;
    let idle: NodeJS.Timeout | undefined;
    const arm = (): void => {
      idle = setTimeout(() => session.close(), idleConnectionMs);
      idle.unref();
    };
    session.on('stream', (stream: Duplex) => {
      if (open++ === 0) clearTimeout(idle);
      stream.once('close', () => {
        if (--open === 0 && !session.closed) arm();
      });
    });
    session.once('close', () => {
      clearTimeout(idle);
      sessions.delete(session);
    });
    // A handshake that completed while close() ran: no new streams on it.
    if (closing) session.close();
    else arm();
  });

  server.on('request', (req: ProxyRequest, res: ProxyResponse) => {
    track(res);
    const target = stripPrefix(req.url ?? '/', prefix);
    if (target === undefined) return logLocal(req, res, false, sendStatus(res, 404, 'NotFound', wrongPath()));
    if (closing) return logLocal(req, res, false, sendStatus(res, 503, 'ServiceUnavailable', stopping, true));
    // forward-request.ts is written against node:http's classes; the HTTP/2 ones are made to
    // behave alike in everything it uses (http2-compat.ts).
    forwardRequest(req as IncomingMessage, res as ServerResponse, target.path, target.logPath, { pool, auth: opts.auth, onRequest: logFor(req) });
  });

  // Only HTTP/1.1 connections upgrade: HTTP/2 has no Upgrade (and its extended CONNECT for
  // WebSockets is not enabled, so kubectl never gets to use it).
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    track(socket);
    const target = stripPrefix(req.url ?? '/', prefix);
    socket.on('error', () => socket.destroy());
    if (target === undefined) return logLocal(req, socket, true, writeRawStatus(socket, 404, 'NotFound', wrongPath()), 404);
    if (closing) return logLocal(req, socket, true, writeRawStatus(socket, 503, 'ServiceUnavailable', stopping), 503);
    forwardUpgrade(req, socket, head, target.path, target.logPath, {
      dialer: opts.dialer,
      auth: opts.auth,
      signal: shutdown.signal,
      onRequest: logFor(req),
    });
  });

  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      pool.destroy();
      if (err.code === 'EADDRINUSE') reject(new PortInUseError(opts.port, { cause: err }));
      else reject(new ListenError(host, opts.port, err.code ?? err.message, { cause: err }));
    };
    server.once('error', onError);
    server.listen(opts.port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  // Until then a handshake fails for want of a certificate; no kubeconfig names this port yet.
  const secured = pkiNow ? Promise.resolve() : Promise.resolve(opts.pki).then((pki) => server.setSecureContext(contextOptions(pki)));
  secured.catch(() => undefined); // the session awaits it and reports the failure
  // Once listening, the only server errors are failed accepts (EMFILE): transient, not fatal.
  server.on('error', () => undefined);

  const close = async (graceMs = SHUTDOWN_GRACE_MS): Promise<void> => {
    // Stops accepting; Node also closes idle HTTP/1.1 connections now, busy ones finish first.
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    // GOAWAY: a session takes no new streams, the open ones may finish.
    for (const session of sessions) session.close();
    if (inFlight.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        drained = resolve;
        timer = setTimeout(resolve, graceMs);
      });
      clearTimeout(timer);
      drained = undefined;
    }
    // Abort what outlived the grace (an HTTP/2 stream gets RST_STREAM), and resolve only once
    // each has really closed.
    const aborted = [...inFlight].map(
      (item) =>
        new Promise<void>((resolve) => {
          item.once('close', () => resolve());
          item.destroy();
        }),
    );
    shutdown.abort();
    pool.destroy();
    // A session closes itself once its last stream has (it has had its GOAWAY), after writing
    // the resets: a socket destroyed before would drop them, and a client could take a stream
    // cut that way for a complete response. Then whatever is left is destroyed: kept-alive
    // HTTP/1.1 connections, handshakes that never finished, a session whose client stopped reading.
    const sessionsClosed = [...sessions].map(
      (session) =>
        new Promise<void>((resolve) => {
          if (session.destroyed) resolve();
          else session.once('close', () => resolve());
        }),
    );
    let flushTimer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all([...aborted, ...sessionsClosed]), new Promise<void>((resolve) => (flushTimer = setTimeout(resolve, SESSION_FLUSH_MS)))]);
    clearTimeout(flushTimer);
    for (const socket of sockets) socket.destroy();
    await Promise.all([closed, ...aborted]);
  };

  return {
    port,
    get activeRequests() {
      return inFlight.size;
    },
    secured,
    prewarm: () => pool.prewarm(),
    close(graceMs?: number) {
      closing ??= close(graceMs);
      return closing;
    },
  };
}
