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
import { redactSecrets } from '../errors/index.js';
import { tunnelFailureMessage } from '../tunnel/failure-message.js';
import type { UpstreamAuth } from './auth.js';
import { ResponseParseError } from './http1-response.js';
import type { RequestLogEntry } from './log.js';
import type { OpenEndable } from './open-streams.js';
import { newRequestTrace, prepareUpstreamRequest, traceSuffix, type RequestTrace, type UpstreamRequest } from './request-head.js';
import { rewriteResponseHeaders } from './headers.js';
import { sendStatus, tokenFailureMessage } from './status.js';
import type { StreamPool, TakenStream } from './stream-pool.js';
import { UpstreamExchange } from './upstream-exchange.js';
import type { UpstreamResponse } from './upstream-response.js';
import { isResumableLog, logBody, timestampedLogPath } from './log-resume.js';
import { relayResumable, type ResumableBody } from './resumable-relay.js';
import { isResumableWatch, watchBody } from './watch-resume.js';

export interface ForwardRequestDeps {
  pool: StreamPool;
  auth: UpstreamAuth;
  onRequest?: ((e: RequestLogEntry) => void) | undefined;
  /** The session's x-ms-correlation-request-id; each request then gets an x-ms-client-request-id. */
  correlationId?: string | undefined;
}

/** Methods that may be sent twice; only bodiless ones are retried (a body has been consumed). */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS']);

/** `attempt` 0 goes on a pooled stream; each retry on a fresh stream of its own. */
type Attempt = number;

/**
 * Retries of a bodiless idempotent request that got no answer: a relay drop can catch a retry
 * too (every relay connection goes at once, the next dial may land before the agent is back).
 */
const IDEMPOTENT_RETRIES = 3;

export function forwardRequest(req: IncomingMessage, res: ServerResponse, path: string, logPath: string, deps: ForwardRequestDeps): void {
  new ForwardedRequest(req, res, path, logPath, deps).start();
}

class ForwardedRequest {
  readonly #req: IncomingMessage;
  readonly #res: ServerResponse;
  readonly #path: string;
  /** The path sent upstream: a followed log asks for timestamps, to resume from (log-resume.ts). */
  readonly #upstreamPath: string;
  readonly #resumableLog: boolean;
  readonly #logPath: string;
  readonly #deps: ForwardRequestDeps;
  readonly #method: string;
  readonly #started = performance.now();
  #bytesIn = 0;
  #bytesOut = 0;
  readonly #trace: RequestTrace | undefined;
  /** Cancels a dial in progress for this request when kubectl goes away before it is done. */
  #dialing: AbortController | undefined;
  /** The exchange in progress, dropped when kubectl goes away. */
  #exchange: UpstreamExchange | undefined;

  constructor(req: IncomingMessage, res: ServerResponse, path: string, logPath: string, deps: ForwardRequestDeps) {
    this.#req = req;
    this.#res = res;
    this.#path = path;
    this.#resumableLog = isResumableLog(req.method, path);
    this.#upstreamPath = this.#resumableLog ? timestampedLogPath(path) : path;
    this.#logPath = logPath;
    this.#deps = deps;
    this.#method = req.method ?? 'GET';
    this.#trace = newRequestTrace(deps.correlationId);
    req.on('error', () => res.destroy());
    res.once('close', () => this.#onClientClose());
  }

  /** Gets the token (Entra mode), rewrites the request and sends it. */
  start(): void {
    this.#withToken((token) => {
      const request = prepareUpstreamRequest(this.#method, this.#upstreamPath, this.#req.rawHeaders, {
        bearerToken: token,
        upgrade: false,
        trace: this.#trace,
      });
      if ('problem' in request) {
        sendStatus(this.#res, 400, 'BadRequest', `arcproxy: cannot forward this request: ${request.problem}`);
        return;
      }
      this.#send(request, 0);
    });
  }

  #withToken(then: (token: string | undefined) => void): void {
    const auth = this.#deps.auth;
    if (auth.kind !== 'entra') {
      then(undefined);
      return;
    }
    auth.getToken().then(
      (token) => {
        if (!this.#res.destroyed) then(token);
      },
      (err: unknown) => {
        if (!this.#res.destroyed) sendStatus(this.#res, 503, 'ServiceUnavailable', tokenFailureMessage(err));
      },
    );
  }

  #onClientClose(): void {
    const res = this.#res;
    // kubectl went away (or we aborted it, or a stop ended its watch): drop the exchange; its
    // stream is destroyed with it rather than going back to the pool half-read.
    if (!res.writableFinished || (res as Partial<OpenEndable>).endedAtStop) this.#exchange?.abort();
    this.#dialing?.abort();
    this.#deps.onRequest?.({
      method: this.#method,
      path: this.#logPath,
      status: res.headersSent ? res.statusCode : 0,
      durationMs: performance.now() - this.#started,
      bytesIn: this.#bytesIn,
      bytesOut: this.#bytesOut,
      upgrade: false,
      ...(this.#trace ? { requestId: this.#trace.requestId } : {}),
    });
  }

  #send(request: UpstreamRequest, attempt: Attempt): void {
    const pool = this.#deps.pool;
    const waiting = attempt === 0 ? pool.takeWaiting() : undefined;
    if (waiting !== undefined) {
      // The common case, on every warm request: the head goes out now, not a microtask later.
      this.#sendOn(request, attempt, waiting);
      return;
    }
    const warming = attempt === 0 ? pool.claimWarming() : undefined;
    // Only a dial needs cancelling (kubectl may go away while it runs): no controller otherwise.
    const dialing = new AbortController();
    this.#dialing = dialing;
    const dial = () => pool.dial(dialing.signal).then((stream) => ({ stream, reused: false }));
    // A stream already being dialled ahead of a burst comes sooner than a dial of our own.
    const taken: Promise<TakenStream> = warming ? warming.then((stream) => (stream ? { stream, reused: false } : dial())) : dial();
    taken.then(
      (t) => {
        this.#dialing = undefined;
        this.#sendOn(request, attempt, t);
      },
      // A failed dial is not retried here: the dialer has already retried by cause.
      (err: unknown) => {
        this.#dialing = undefined;
        this.#unavailable(err);
      },
    );
  }

  #sendOn(request: UpstreamRequest, attempt: Attempt, { stream, reused }: TakenStream): void {
    const pooled = attempt === 0;
    const pool = this.#deps.pool;
    if (this.#res.destroyed) {
      // Nothing was written on it: as good as it was.
      if (pooled) pool.release(stream);
      else stream.destroy();
      return;
    }
    const onBytes = this.#deps.onRequest ? (n: number) => (this.#bytesIn += n) : undefined;
    this.#exchange = new UpstreamExchange(
      stream,
      {
        method: this.#method,
        head: request.head(this.#upstreamPath, pooled ? 'keep-alive' : 'close'),
        body: request.hasBody ? { req: this.#req, framing: request.bodyFraming, onBytes } : undefined,
      },
      {
        onResponse: (up) => this.#onResponse(up),
        onFailure: (err, sawResponseByte) => this.#onFailure(request, attempt, reused, err, sawResponseByte),
        release: (s: Duplex) => (pooled ? pool.release(s) : s.destroy()),
      },
    );
  }

  #onFailure(request: UpstreamRequest, attempt: Attempt, reused: boolean, err: Error, sawResponseByte: boolean): void {
    if (this.#res.destroyed) return;
    if (err instanceof ResponseParseError) {
      this.#cannotRelay(err);
      return;
    }
    // No response byte yet. A pooled stream can die while idle (relay closed it) just as it is
    // reused: a request without a body is safe to send once more. A fresh stream that dies
    // before answering (the relay dropped it) gets up to IDEMPOTENT_RETRIES more for idempotent requests. A retry
    // goes on a stream of its own, never on another pooled one that may share the fate of the
    // first (a relay drop kills them all).
    const retriesLeft = IDEMPOTENT.has(this.#method) ? attempt < IDEMPOTENT_RETRIES : attempt === 0 && reused;
    if (retriesLeft && !request.hasBody && !sawResponseByte) {
      this.#send(request, attempt + 1);
      return;
    }
    this.#unavailable(err);
  }

  #onResponse(up: UpstreamResponse): void {
    const res = this.#res;
    if (res.destroyed) {
      up.destroy();
      return;
    }
    if (up.statusCode === 101) {
      // We never asked to switch protocols; what follows is not an HTTP body.
      up.destroy();
      this.#cannotRelay(new Error('101 Switching Protocols on a request without Upgrade'));
      return;
    }
    try {
      res.writeHead(up.statusCode, up.statusMessage, rewriteResponseHeaders(up.rawHeaders));
    } catch (err) {
      // The parser accepts a few header bytes Node's writer refuses; never crash on them.
      up.destroy();
      this.#cannotRelay(err);
      return;
    }
    let bodyStarted = false;
    const onBytes = (n: number): void => {
      bodyStarted = true;
      this.#bytesOut += n;
    };
    const resumable = this.#resumableBody(up);
    if (resumable !== undefined) {
      relayResumable(up, res, { body: resumable, reopen: (resume) => this.#reopen(resume), onBytes });
    } else {
      relayBody(up, res, onBytes);
    }
    // A watch or `logs -f` may send headers long before its first body byte, and kubectl
    // waits for them. A body already here has gone out with the headers in one write.
    process.nextTick(() => {
      if (!bodyStarted && !up.complete && !res.destroyed) res.flushHeaders();
    });
  }

  /** A JSON watch or a followed log answered 200 is resumed when cut; anything else is not. */
  #resumableBody(up: UpstreamResponse): ResumableBody | undefined {
    if (this.#resumableLog) return up.statusCode === 200 ? logBody(this.#path) : undefined;
    return isResumableWatch(this.#method, this.#path, up) ? watchBody(this.#path) : undefined;
  }

  /** The watch or log again from where kubectl is, on a fresh stream (resumable-relay.ts). */
  async #reopen(resumePath: string): Promise<UpstreamResponse> {
    const auth = this.#deps.auth;
    const token = auth.kind === 'entra' ? await auth.getToken() : undefined;
    if (this.#res.destroyed) throw new Error('the client went away');
    const request = prepareUpstreamRequest('GET', resumePath, this.#req.rawHeaders, { bearerToken: token, upgrade: false, trace: this.#trace });
    if ('problem' in request) throw new Error(request.problem);
    const dialing = new AbortController();
    this.#dialing = dialing;
    const stream = await this.#deps.pool.dial(dialing.signal).finally(() => {
      if (this.#dialing === dialing) this.#dialing = undefined;
    });
    if (this.#res.destroyed) {
      stream.destroy();
      throw new Error('the client went away');
    }
    return new Promise<UpstreamResponse>((resolve, reject) => {
      this.#exchange = new UpstreamExchange(
        stream,
        { method: 'GET', head: request.head(resumePath, 'close') },
        { onResponse: resolve, onFailure: reject, release: (s) => s.destroy() },
      );
    });
  }

  #unavailable(err: unknown): void {
    if (!this.#res.destroyed) sendStatus(this.#res, 503, 'ServiceUnavailable', tunnelFailureMessage(err) + traceSuffix(this.#trace));
  }

  #cannotRelay(err: unknown): void {
    // The parser quotes a little of what it refused; that is the agent's text, so redact it too.
    sendStatus(this.#res, 502, 'BadGateway', `arcproxy: the cluster agent sent a response that cannot be relayed: ${redactSecrets((err as Error).message)}`);
  }
}

/** An ordinary response body to kubectl, with backpressure; a body cut upstream is cut here too. */
function relayBody(up: UpstreamResponse, res: ServerResponse, onBytes: (n: number) => void): void {
  const resumeUp = (): void => up.resume();
  up.on('data', (chunk: Buffer) => {
    onBytes(chunk.length);
    if (!res.destroyed && !res.write(chunk)) {
      up.pause();
      res.once('drain', resumeUp);
    }
  });
  up.on('end', () => {
    if (!res.destroyed) res.end();
  });
  // A response cut short upstream must reach kubectl cut short, not as a clean end: the chunked
  // body never gets its last chunk, so kubectl reports it (logs -f: unexpected EOF).
  up.on('close', () => {
    if (!up.complete) res.destroy();
  });
  // Body bytes that came with the head are written now, in the same write as the headers.
  up.resume();
}
