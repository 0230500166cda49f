/**
 * The local HTTPS listener kubectl talks to: mutual TLS with the session CA, the kubeconfig's
 * /proxies/<hash> path prefix, ordinary requests over pooled streams and upgrades on fresh ones.
 * It owns every socket, stream and timer it makes, and close() releases them all.
 */
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { performance } from 'node:perf_hooks';
import type { UpstreamAuth } from './auth.js';
import type { StreamDialer } from './dialer.js';
import { ListenError, PortInUseError } from './errors.js';
import { forwardRequest } from './forward-request.js';
import { forwardUpgrade } from './forward-upgrade.js';
import type { RequestLogEntry } from './log.js';
import type { SessionPki } from './session-pki.js';
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
  /** Stops accepting, lets in-flight requests finish within graceMs (default 5000), then aborts them; closes pooled streams. */
  close(graceMs?: number): Promise<void>;
}

const DEFAULT_GRACE_MS = 5_000;

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
  const pool = new StreamPool({
    dialer: opts.dialer,
    maxIdleStreams: opts.maxIdleStreams ?? 128,
    idleStreamTimeoutMs: opts.idleStreamTimeoutMs ?? 60_000,
    signal: shutdown.signal,
  });
  const inFlight = new Set<ServerResponse | Duplex>();
  let drained: (() => void) | undefined;
  let closing: Promise<void> | undefined;

  const track = (item: ServerResponse | Duplex): void => {
    inFlight.add(item);
    item.once('close', () => {
      inFlight.delete(item);
      if (inFlight.size === 0) drained?.();
    });
  };

  /** Logs an answer the proxy gave itself (wrong path, shutting down). */
  const logLocal = (req: IncomingMessage, stream: ServerResponse | Duplex, upgrade: boolean, bytesOut: number, status?: number): void => {
    const onRequest = opts.onRequest;
    if (!onRequest) return;
    const started = performance.now();
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    stream.once('close', () =>
      onRequest({
        method: req.method ?? 'GET',
        path: q === -1 ? url : url.slice(0, q),
        status: status ?? (stream as ServerResponse).statusCode,
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
  const server: Server = createServer(
    {
      ...(pkiNow ? contextOptions(pkiNow) : { minVersion: 'TLSv1.2' }),
      requestCert: true,
      rejectUnauthorized: true,
      // SPDY (exec, port-forward fallbacks) cannot ride HTTP/2.
      ALPNProtocols: ['http/1.1'],
      // Clients are local and authenticated by certificate; a long upload must not be cut.
      requestTimeout: 0,
      keepAliveTimeout: 30_000,
    },
    (req: IncomingMessage, res: ServerResponse) => {
      track(res);
      const target = stripPrefix(req.url ?? '/', prefix);
      if (target === undefined) return logLocal(req, res, false, sendStatus(res, 404, 'NotFound', wrongPath()));
      if (closing) return logLocal(req, res, false, sendStatus(res, 503, 'ServiceUnavailable', stopping, true));
      forwardRequest(req, res, target.path, target.logPath, { pool, auth: opts.auth, onRequest: opts.onRequest });
    },
  );

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
      onRequest: opts.onRequest,
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

  const close = async (graceMs = DEFAULT_GRACE_MS): Promise<void> => {
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    // Node also closes idle keep-alive connections on close(); busy ones finish first.
    server.closeIdleConnections();
    if (inFlight.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        drained = resolve;
        timer = setTimeout(resolve, graceMs);
      });
      clearTimeout(timer);
      drained = undefined;
    }
    // Abort what outlived the grace, and resolve only once each has really closed.
    const aborted = [...inFlight].map((item) => new Promise<void>((resolve) => {
      item.once('close', () => resolve());
      item.destroy();
    }));
    shutdown.abort();
    server.closeAllConnections();
    pool.destroy();
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
