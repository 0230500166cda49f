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
import type { ServerHttp2Session } from 'node:http2';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { performance } from 'node:perf_hooks';
import type { UpstreamAuth } from './auth.js';
import type { StreamDialer } from '../tunnel/dialer.js';
import { ClientConnections } from './connections.js';
import { forwardRequest } from './forward-request.js';
import { forwardUpgrade } from './forward-upgrade.js';
import type { ProxyHttp2Request, ProxyHttp2Response } from './http2-compat.js';
import { redactQuery, type RequestLogEntry } from './log.js';
import type { SessionPki } from '../pki/session-pki.js';
import type { ProxyHttp1Response } from './http1-compat.js';
import { isOpenEnded } from './open-streams.js';
import { createSecureListener, installPki, listenOn } from './secure-listener.js';
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
  /** The session's x-ms-correlation-request-id: when set, every request upstream carries it and an id of its own. */
  correlationId?: string;
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
  /** Dials in parallel, now or after `startInMs`, until `count` streams wait for requests (a burst's worth); see StreamPool.warmIdle. */
  warmIdle(count: number, startInMs?: number): Promise<number>;
  /** Stops accepting, lets in-flight requests finish within graceMs (default SHUTDOWN_GRACE_MS), then aborts them; closes pooled streams. */
  close(graceMs?: number): Promise<void>;
}

/**
 * How long in-flight requests may run on after a stop (a signal, or the end of a run-mode command)
 * before they are aborted: the one value the listener, the session and the CLI use. 5 s lets an
 * ordinary request already on its way through the relay (a get, an apply, a helm upload) finish
 * while a stop still feels prompt. Watches and `logs -f` never finish on their own: they do not
 * wait for it, but are ended cleanly at once, between two messages (open-streams.ts). With the
 * 1 s session flush after it (connections.ts) the whole stop stays well under the 10 s
 * `docker stop` (and Kubernetes' 30 s) give before SIGKILL, so arcproxy exits 0 on its own. The README and docs/scripting.md promise "up to 5 s".
 */
export const SHUTDOWN_GRACE_MS = 5_000;
const DEFAULT_IDLE_CONNECTION_MS = 30_000;

type ProxyRequest = IncomingMessage | ProxyHttp2Request;
type ProxyResponse = ProxyHttp1Response | ProxyHttp2Response;

/**
 * Splits req.url into the upstream path (prefix stripped) and the log path (secret-looking query
 * values redacted), or undefined when the prefix does not match.
 */
export function stripPrefix(url: string, prefix: string): { path: string; logPath: string } | undefined {
  if (!url.startsWith(prefix)) return undefined;
  let rest = url.slice(prefix.length);
  const next = rest.charCodeAt(0);
  // '/proxies/abc' must not match '/proxies/abcdef'.
  if (rest.length > 0 && next !== 0x2f /* / */ && next !== 0x3f /* ? */) return undefined;
  if (rest.length === 0 || next === 0x3f) rest = `/${rest}`;
  const q = rest.indexOf('?');
  return { path: rest, logPath: q === -1 ? rest : rest.slice(0, q) + redactQuery(rest.slice(q)) };
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
  const connections = new ClientConnections(idleConnectionMs);
  const pkiNow = 'caCert' in opts.pki ? opts.pki : undefined;
  const server = createSecureListener({ pki: pkiNow, idleConnectionTimeoutMs: idleConnectionMs });
  const local = new LocalAnswers(host, prefix, opts.onRequest);
  let closing: Promise<void> | undefined;

  server.on('connection', (socket: Socket) => connections.addSocket(socket));
  server.on('session', (session: ServerHttp2Session) => connections.addSession(session));

  server.on('request', (req: ProxyRequest, res: ProxyResponse) => {
    connections.track(res);
    const target = stripPrefix(req.url ?? '/', prefix);
    if (target === undefined) return local.wrongPath(req, res, port);
    if (closing) return local.stopping(req, res);
    if (isOpenEnded(req.method, target.path)) connections.trackOpenEnded(res);
    // forward-request.ts is written against node:http's classes; the HTTP/2 ones are made to
    // behave alike in everything it uses (http2-compat.ts).
    forwardRequest(req as IncomingMessage, res as ServerResponse, target.path, target.logPath, {
      pool,
      auth: opts.auth,
      onRequest: withHttpVersion(opts.onRequest, req),
      correlationId: opts.correlationId,
    });
  });

  // Only HTTP/1.1 connections upgrade: HTTP/2 has no Upgrade (and its extended CONNECT for
  // WebSockets is not enabled, so kubectl never gets to use it).
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    connections.track(socket);
    const target = stripPrefix(req.url ?? '/', prefix);
    socket.on('error', () => socket.destroy());
    if (target === undefined) return local.wrongPathUpgrade(req, socket, port);
    if (closing) return local.stoppingUpgrade(req, socket);
    forwardUpgrade(req, socket, head, target.path, target.logPath, {
      dialer: opts.dialer,
      auth: opts.auth,
      signal: shutdown.signal,
      onRequest: withHttpVersion(opts.onRequest, req),
      correlationId: opts.correlationId,
    });
  });

  let port: number;
  try {
    port = await listenOn(server, host, opts.port);
  } catch (err) {
    pool.destroy();
    throw err;
  }
  // Until then a handshake fails for want of a certificate; no kubeconfig names this port yet.
  const secured = pkiNow ? Promise.resolve() : Promise.resolve(opts.pki).then((pki) => installPki(server, pki));
  secured.catch(() => undefined); // the session awaits it and reports the failure

  const close = async (graceMs: number): Promise<void> => {
    // Stops accepting; Node also closes idle HTTP/1.1 connections now, busy ones finish first.
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    connections.stopAccepting();
    await connections.drain(graceMs);
    await connections.destroyAll(() => {
      shutdown.abort();
      pool.destroy();
    });
    await closed;
  };

  return {
    port,
    get activeRequests() {
      return connections.activeRequests;
    },
    secured,
    prewarm: () => pool.prewarm(),
    warmIdle: (count, startInMs) => pool.warmIdle(count, startInMs),
    close(graceMs = SHUTDOWN_GRACE_MS) {
      closing ??= close(graceMs);
      return closing;
    },
  };
}

/** The request log callback for one request, which adds the HTTP version kubectl spoke. */
function withHttpVersion(onRequest: ((e: RequestLogEntry) => void) | undefined, req: ProxyRequest): ((e: RequestLogEntry) => void) | undefined {
  if (!onRequest) return undefined;
  const httpVersion = req.httpVersion;
  return (e) => onRequest({ ...e, httpVersion });
}

/** The answers the listener gives itself, never forwarded: a wrong path, or arcproxy stopping. */
class LocalAnswers {
  readonly #host: string;
  readonly #prefix: string;
  readonly #onRequest: ((e: RequestLogEntry) => void) | undefined;

  constructor(host: string, prefix: string, onRequest: ((e: RequestLogEntry) => void) | undefined) {
    this.#host = host;
    this.#prefix = prefix;
    this.#onRequest = onRequest;
  }

  wrongPath(req: ProxyRequest, res: ProxyResponse, port: number): void {
    this.#log(req, res, false, sendStatus(res, 404, 'NotFound', this.#wrongPathMessage(port)));
  }

  wrongPathUpgrade(req: IncomingMessage, socket: Duplex, port: number): void {
    this.#log(req, socket, true, writeRawStatus(socket, 404, 'NotFound', this.#wrongPathMessage(port)), 404);
  }

  stopping(req: ProxyRequest, res: ProxyResponse): void {
    this.#log(req, res, false, sendStatus(res, 503, 'ServiceUnavailable', STOPPING, true));
  }

  stoppingUpgrade(req: IncomingMessage, socket: Duplex): void {
    this.#log(req, socket, true, writeRawStatus(socket, 503, 'ServiceUnavailable', STOPPING), 503);
  }

  #wrongPathMessage(port: number): string {
    const host = this.#host.includes(':') ? `[${this.#host}]` : this.#host;
    return (
      `arcproxy: no such path. This proxy serves only paths under ${this.#prefix}, the server path in the kubeconfig arcproxy ` +
      `wrote (server: https://${host}:${port}${this.#prefix}). Use that kubeconfig's context.`
    );
  }

  #log(req: ProxyRequest, stream: ProxyResponse | Duplex, upgrade: boolean, bytesOut: number, status?: number): void {
    const onRequest = withHttpVersion(this.#onRequest, req);
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
  }
}

const STOPPING = 'arcproxy is shutting down; start it again, then retry.';
