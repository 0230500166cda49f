/**
 * Forwards one ordinary (non-upgrade) request over a pooled stream. Bodies are piped both ways
 * with backpressure and never buffered, so a watch event or a `logs -f` line reaches kubectl as
 * soon as it arrives.
 */
import { request as httpRequest, type ClientRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Agent } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { UpstreamAuth } from './auth.js';
import { rewriteRequestHeaders, rewriteResponseHeaders } from './headers.js';
import { sendStatus, tokenFailureMessage, tunnelFailureMessage } from './status.js';
import type { RequestLogEntry } from './log.js';

export interface ForwardRequestDeps {
  pool: Agent;
  auth: UpstreamAuth;
  onRequest?: ((e: RequestLogEntry) => void) | undefined;
}

// The Agent keys its pool by host:port; every stream goes to the same agent, so one fixed key.
const POOL_HOST = 'cluster-agent.arcproxy.invalid';

export function forwardRequest(req: IncomingMessage, res: ServerResponse, path: string, logPath: string, deps: ForwardRequestDeps): void {
  const started = performance.now();
  let bytesIn = 0;
  let bytesOut = 0;
  let upstream: ClientRequest | undefined;
  let responded = false;

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

  const send = (token: string | undefined, attempt: number): void => {
    if (res.destroyed) return;
    const { headers, hasBody } = rewriteRequestHeaders(req.rawHeaders, token === undefined ? { upgrade: false } : { bearerToken: token, upgrade: false });
    let up: ClientRequest;
    try {
      up = httpRequest({ agent: deps.pool, host: POOL_HOST, port: 80, method: req.method, path, headers, setHost: false });
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
      upRes.pipe(res);
      let bodyStarted = false;
      upRes.on('data', (chunk: Buffer) => {
        bodyStarted = true;
        bytesOut += chunk.length;
      });
      // A watch or `logs -f` may send headers long before its first body byte, and kubectl
      // waits for them. A body already here goes out with the headers in one write instead
      // (pipe's resume was scheduled first, so it has run by this tick).
      process.nextTick(() => {
        if (!bodyStarted && !upRes.complete && !res.destroyed) res.flushHeaders();
      });
      upRes.on('error', () => res.destroy());
      // A response cut short upstream must reach kubectl cut short, not as a clean end.
      upRes.on('close', () => {
        if (!upRes.complete) res.destroy();
      });
    });

    up.on('error', (err) => {
      if (responded || res.destroyed) {
        res.destroy();
        return;
      }
      // A pooled stream can die while idle (relay closed it) just as it is reused; a request
      // without a body is safe to send once more, on another stream.
      if (up.reusedSocket && !hasBody && attempt === 0) {
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
