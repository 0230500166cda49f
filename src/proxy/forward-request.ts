/**
 * Forwards one ordinary (non-upgrade) request over a pooled stream. Bodies are piped both ways
 * with backpressure and never buffered, so a watch event or a `logs -f` line reaches kubectl as
 * soon as it arrives.
 */
import { request as httpRequest, type ClientRequest, type ClientRequestArgs, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Agent } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { UpstreamAuth } from './auth.js';
import { rewriteRequestHeaders, rewriteResponseHeaders } from './headers.js';
import { sendStatus, tokenFailureMessage, tunnelFailureMessage } from './status.js';
import type { RequestLogEntry } from './log.js';
import { isResumableWatch, relayWatch } from './watch-resume.js';

export interface ForwardRequestDeps {
  pool: Agent;
  auth: UpstreamAuth;
  onRequest?: ((e: RequestLogEntry) => void) | undefined;
}

// The Agent keys its pool by host:port; every stream goes to the same agent, so one fixed key.
const POOL_HOST = 'cluster-agent.arcproxy.invalid';

/** Methods that may be sent twice; only bodiless ones are retried (a body has been consumed). */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS']);

export function forwardRequest(req: IncomingMessage, res: ServerResponse, path: string, logPath: string, deps: ForwardRequestDeps): void {
  const started = performance.now();
  let bytesIn = 0;
  let bytesOut = 0;
  let upstream: ClientRequest | undefined;
  let responded = false;
  let watching = false;

  req.on('error', () => res.destroy());
  res.once('close', () => {
    // kubectl went away (or we aborted it): drop the upstream request; its stream is destroyed
    // with it rather than going back to the pool half-read.
    if (!res.writableFinished) upstream?.destroy();
    deps.onRequest?.({
      method: req.method ?? 'GET',
      path: logPath,
      status: res.headersSent ? res.statusCode : 0,
      durationMs: performance.now() - started,
      bytesIn,
      bytesOut,
      upgrade: false,
    });
  });

  const fresh = (o: ClientRequestArgs, cb: (err: Error | null, s: Duplex) => void) => deps.pool.createConnection(o, cb);

  const send = (token: string | undefined, attempt: number): void => {
    if (res.destroyed) return;
    const { headers, hasBody } = rewriteRequestHeaders(req.rawHeaders, token === undefined ? { upgrade: false } : { bearerToken: token, upgrade: false });
    let up: ClientRequest;
    // A retry goes on a stream of its own, never on another pooled one that may share the fate
    // of the first (a relay drop kills them all). Without an agent it is closed after use.
    const connection = attempt === 0 ? { agent: deps.pool } : { createConnection: fresh };
    try {
      up = httpRequest({ ...connection, host: POOL_HOST, port: 80, method: req.method, path, headers, setHost: false });
    } catch (err) {
      // http.request refuses a few paths Node's server parser let through.
      sendStatus(res, 400, 'BadRequest', `arcproxy: cannot forward this request: ${(err as Error).message}`);
      return;
    }
    upstream = up;

    up.on('response', (upRes: IncomingMessage) => {
      responded = true;
      if (res.destroyed) {
        up.destroy();
        return;
      }
      try {
        res.writeHead(upRes.statusCode ?? 502, upRes.statusMessage, rewriteResponseHeaders(upRes.rawHeaders));
      } catch (err) {
        // Node's parser accepts a few header bytes its writer refuses; never crash on them.
        up.destroy();
        sendStatus(res, 502, 'BadGateway', `arcproxy: the cluster agent sent a response that cannot be relayed: ${(err as Error).message}`);
        return;
      }
      let bodyStarted = false;
      const watch = isResumableWatch(req.method, path, upRes);
      if (watch) {
        watching = true;
        relayWatch(upRes, res, {
          path,
          reopen: (resume) => reopen(resume),
          onBytes: (n) => {
            bodyStarted = true;
            bytesOut += n;
          },
        });
      } else {
        upRes.pipe(res);
        upRes.on('data', (chunk: Buffer) => {
          bodyStarted = true;
          bytesOut += chunk.length;
        });
      }
      // A watch or `logs -f` may send headers long before its first body byte, and kubectl
      // waits for them. A body already here goes out with the headers in one write instead
      // (pipe's resume was scheduled first, so it has run by this tick).
      process.nextTick(() => {
        if (!bodyStarted && !upRes.complete && !res.destroyed) res.flushHeaders();
      });
      if (watch) return;
      upRes.on('error', () => res.destroy());
      // A response cut short upstream must reach kubectl cut short, not as a clean end: the
      // chunked body never gets its last chunk, so kubectl reports it (logs -f: unexpected EOF).
      upRes.on('close', () => {
        if (!upRes.complete) res.destroy();
      });
    });

    up.on('error', (err) => {
      // A resumable watch decides itself when its stream dies (watch-resume.ts).
      if (watching) return;
      if (responded || res.destroyed) {
        res.destroy();
        return;
      }
      // No response byte yet. A pooled stream can die while idle (relay closed it) just as it is
      // reused: a request without a body is safe to send once more. A fresh stream that dies
      // before answering (the relay dropped it) gets one more try for idempotent requests.
      const method = (req.method ?? 'GET').toUpperCase();
      // up.socket is set once a stream carries the request (no listener per request for it): a
      // failed dial never gets one, and was already retried by the dialer.
      const onStream = up.socket !== null && up.socket !== undefined;
      if (attempt === 0 && !hasBody && (up.reusedSocket || (onStream && IDEMPOTENT.has(method)))) {
        send(token, 1);
        return;
      }
      sendStatus(res, 503, 'ServiceUnavailable', tunnelFailureMessage(err));
    });

    if (hasBody) {
      req.pipe(up);
      if (deps.onRequest) req.on('data', (chunk: Buffer) => (bytesIn += chunk.length));
    } else {
      up.end();
    }
  };

  /** The watch again from where kubectl is, on a fresh stream (watch-resume.ts). */
  const reopen = async (resume: string): Promise<IncomingMessage> => {
    const token = deps.auth.kind === 'entra' ? await deps.auth.getToken() : undefined;
    if (res.destroyed) throw new Error('the client went away');
    const { headers } = rewriteRequestHeaders(req.rawHeaders, token === undefined ? { upgrade: false } : { bearerToken: token, upgrade: false });
    return new Promise<IncomingMessage>((resolve, reject) => {
      const up = httpRequest({ createConnection: fresh, host: POOL_HOST, port: 80, method: 'GET', path: resume, headers, setHost: false });
      upstream = up;
      up.on('response', resolve);
      up.on('error', reject);
      up.end();
    });
  };

  if (deps.auth.kind === 'entra') {
    deps.auth.getToken().then(
      (token) => send(token, 0),
      (err: unknown) => {
        if (!res.destroyed) sendStatus(res, 503, 'ServiceUnavailable', tokenFailureMessage(err));
      },
    );
  } else {
    send(undefined, 0);
  }
}
