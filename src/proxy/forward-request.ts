/**
 * Forwards one ordinary (non-upgrade) request over a pooled stream: the rewritten head (and the
 * body, framed again) is written straight onto the stream and the answer is read with our own
 * HTTP/1.1 parser (upstream-exchange.ts), without node:http's client machinery. Bodies are
 * relayed both ways with backpressure and never buffered, so a watch event or a `logs -f` line
 * reaches kubectl as soon as it arrives.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { performance } from 'node:perf_hooks';
import type { UpstreamAuth } from './auth.js';
import { requestHead, rewriteRequestHeaders, rewriteResponseHeaders, unsendableHead, type RewrittenRequest } from './headers.js';
import { ResponseParseError } from './http1-response.js';
import type { RequestLogEntry } from './log.js';
import type { BodyFraming } from './request-body.js';
import { redactSecrets } from '../errors/index.js';
import { tunnelFailureMessage } from '../tunnel/failure-message.js';
import { sendStatus, tokenFailureMessage } from './status.js';
import type { StreamPool } from './stream-pool.js';
import { UpstreamExchange } from './upstream-exchange.js';
import type { UpstreamResponse } from './upstream-response.js';
import { isResumableWatch, relayWatch } from './watch-resume.js';

export interface ForwardRequestDeps {
  pool: StreamPool;
  auth: UpstreamAuth;
  onRequest?: ((e: RequestLogEntry) => void) | undefined;
}

/** Methods that may be sent twice; only bodiless ones are retried (a body has been consumed). */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS']);
/** Methods Node's client sent without `Content-Length: 0` when they had no body; others got one. */
const NO_DEFAULT_LENGTH = new Set(['GET', 'HEAD', 'DELETE', 'OPTIONS', 'TRACE', 'CONNECT']);

/** The headers for one attempt: a pooled stream stays open after it, a fresh one closes. */
function attemptHeaders(method: string, rewritten: RewrittenRequest, pooled: boolean): string[] {
  const headers = rewritten.headers.slice();
  if (rewritten.framing.kind === 'none' && !NO_DEFAULT_LENGTH.has(method)) headers.push('Content-Length', '0');
  headers.push('Connection', pooled ? 'keep-alive' : 'close');
  return headers;
}

function bodyFraming(rewritten: RewrittenRequest): BodyFraming {
  return rewritten.framing.kind === 'length' ? { chunked: false, contentLength: rewritten.framing.contentLength } : { chunked: true };
}

function cannotRelay(res: ServerResponse, err: unknown): void {
  // The parser quotes a little of what it refused; that is the agent's text, so redact it too.
  sendStatus(res, 502, 'BadGateway', `arcproxy: the cluster agent sent a response that cannot be relayed: ${redactSecrets((err as Error).message)}`);
}

export function forwardRequest(req: IncomingMessage, res: ServerResponse, path: string, logPath: string, deps: ForwardRequestDeps): void {
  const started = performance.now();
  const method = req.method ?? 'GET';
  let bytesIn = 0;
  let bytesOut = 0;
  let exchange: UpstreamExchange | undefined;

  req.on('error', () => res.destroy());
  res.once('close', () => {
    // kubectl went away (or we aborted it): drop the exchange; its stream is destroyed with it
    // rather than going back to the pool half-read.
    if (!res.writableFinished) exchange?.abort();
    deps.onRequest?.({
      method,
      path: logPath,
      status: res.headersSent ? res.statusCode : 0,
      durationMs: performance.now() - started,
      bytesIn,
      bytesOut,
      upgrade: false,
    });
  });

  const rewrite = (token: string | undefined): RewrittenRequest =>
    rewriteRequestHeaders(req.rawHeaders, token === undefined ? { upgrade: false } : { bearerToken: token, upgrade: false });

  const onResponse = (up: UpstreamResponse): void => {
    if (res.destroyed) {
      up.destroy();
      return;
    }
    if (up.statusCode === 101) {
      // We never asked to switch protocols; what follows is not an HTTP body.
      up.destroy();
      cannotRelay(res, new Error('101 Switching Protocols on a request without Upgrade'));
      return;
    }
    try {
      res.writeHead(up.statusCode, up.statusMessage, rewriteResponseHeaders(up.rawHeaders));
    } catch (err) {
      // The parser accepts a few header bytes Node's writer refuses; never crash on them.
      up.destroy();
      cannotRelay(res, err);
      return;
    }
    let bodyStarted = false;
    if (isResumableWatch(method, path, up)) {
      relayWatch(up, res, {
        path,
        reopen: (resume) => reopen(resume),
        onBytes: (n) => {
          bodyStarted = true;
          bytesOut += n;
        },
      });
    } else {
      const resumeUp = (): void => up.resume();
      up.on('data', (chunk: Buffer) => {
        bodyStarted = true;
        bytesOut += chunk.length;
        if (!res.destroyed && !res.write(chunk)) {
          up.pause();
          res.once('drain', resumeUp);
        }
      });
      up.on('end', () => {
        if (!res.destroyed) res.end();
      });
      // A response cut short upstream must reach kubectl cut short, not as a clean end: the
      // chunked body never gets its last chunk, so kubectl reports it (logs -f: unexpected EOF).
      up.on('close', () => {
        if (!up.complete) res.destroy();
      });
      // Body bytes that came with the head are written now, in the same write as the headers.
      up.resume();
    }
    // A watch or `logs -f` may send headers long before its first body byte, and kubectl
    // waits for them. A body already here has gone out with the headers in one write.
    process.nextTick(() => {
      if (!bodyStarted && !up.complete && !res.destroyed) res.flushHeaders();
    });
  };

  /** One try on one stream; `attempt` 0 is on a pooled stream, 1 (the retry) on a fresh one. */
  const send = (rewritten: RewrittenRequest, attempt: number): void => {
    const pooled = attempt === 0;
    const taken = pooled ? deps.pool.take() : deps.pool.dial().then((stream) => ({ stream, reused: false }));
    taken.then(
      ({ stream, reused }) => {
        if (res.destroyed) {
          // Nothing was written on it: as good as it was.
          if (pooled) deps.pool.release(stream);
          else stream.destroy();
          return;
        }
        const head = requestHead(method, path, attemptHeaders(method, rewritten, pooled));
        const body = rewritten.hasBody
          ? { req, framing: bodyFraming(rewritten), onBytes: deps.onRequest ? (n: number) => (bytesIn += n) : undefined }
          : undefined;
        exchange = new UpstreamExchange(
          stream,
          { method, head, body },
          {
            onResponse,
            onFailure: (err, sawResponseByte) => {
              if (res.destroyed) return;
              if (err instanceof ResponseParseError) {
                cannotRelay(res, err);
                return;
              }
              // No response byte yet. A pooled stream can die while idle (relay closed it) just as
              // it is reused: a request without a body is safe to send once more. A fresh stream
              // that dies before answering (the relay dropped it) gets one more try for
              // idempotent requests. A retry goes on a stream of its own, never on another pooled
              // one that may share the fate of the first (a relay drop kills them all).
              if (pooled && !rewritten.hasBody && !sawResponseByte && (reused || IDEMPOTENT.has(method))) {
                send(rewritten, 1);
                return;
              }
              sendStatus(res, 503, 'ServiceUnavailable', tunnelFailureMessage(err));
            },
            release: (s: Duplex) => (pooled ? deps.pool.release(s) : s.destroy()),
          },
        );
      },
      // A failed dial is not retried here: the dialer has already retried by cause.
      (err: unknown) => {
        if (!res.destroyed) sendStatus(res, 503, 'ServiceUnavailable', tunnelFailureMessage(err));
      },
    );
  };

  const start = (token: string | undefined): void => {
    if (res.destroyed) return;
    const rewritten = rewrite(token);
    const problem = unsendableHead(method, path, rewritten.headers);
    if (problem !== undefined) {
      sendStatus(res, 400, 'BadRequest', `arcproxy: cannot forward this request: ${problem}`);
      return;
    }
    send(rewritten, 0);
  };

  /** The watch again from where kubectl is, on a fresh stream (watch-resume.ts). */
  const reopen = async (resume: string): Promise<UpstreamResponse> => {
    const token = deps.auth.kind === 'entra' ? await deps.auth.getToken() : undefined;
    if (res.destroyed) throw new Error('the client went away');
    const headers = attemptHeaders('GET', rewrite(token), false);
    const stream = await deps.pool.dial();
    if (res.destroyed) {
      stream.destroy();
      throw new Error('the client went away');
    }
    return new Promise<UpstreamResponse>((resolve, reject) => {
      exchange = new UpstreamExchange(
        stream,
        { method: 'GET', head: requestHead('GET', resume, headers) },
        {
          onResponse: resolve,
          onFailure: reject,
          release: (s) => s.destroy(),
        },
      );
    });
  };

  if (deps.auth.kind === 'entra') {
    deps.auth.getToken().then(start, (err: unknown) => {
      if (!res.destroyed) sendStatus(res, 503, 'ServiceUnavailable', tokenFailureMessage(err));
    });
  } else {
    start(undefined);
  }
}
