/**
 * The request head arcproxy writes onto a relay stream, built in one place: kubectl's headers
 * rewritten for the agent (headers.ts: hop-by-hop and, in Entra mode, identity headers out, the
 * session's token in), checked for anything that could break the head open, then written with the
 * fields HTTP/1.1 needs on a stream arcproxy frames itself: `Content-Length: 0` where Node's own
 * client sent one, and `Connection` for the stream's fate (kept in the pool, closed, or upgraded).
 */
import { randomUUID } from 'node:crypto';
import { requestHead, rewriteRequestHeaders, unsendableHead, type RewrittenRequest } from './headers.js';
import type { BodyFraming } from './request-body.js';

/** Methods Node's client sent without `Content-Length: 0` when they had no body; others got one. */
const NO_DEFAULT_LENGTH = new Set(['GET', 'HEAD', 'DELETE', 'OPTIONS', 'TRACE', 'CONNECT']);

/** Microsoft's tracing ids for one request: the session's and the request's own. */
export interface RequestTrace {
  correlationId: string;
  requestId: string;
}

/** A request's tracing ids when the session traces (it has a correlation id), else none. */
export function newRequestTrace(correlationId: string | undefined): RequestTrace | undefined {
  return correlationId === undefined ? undefined : { correlationId, requestId: randomUUID() };
}

/** Names the request and session in a 503's message, so a user can match it with the agent's logs. */
export function traceSuffix(trace: RequestTrace | undefined): string {
  return trace ? ` (x-ms-client-request-id ${trace.requestId}, x-ms-correlation-request-id ${trace.correlationId})` : '';
}

/** What becomes of the stream after this request: back to the pool, closed, or an upgrade. */
export type StreamFate = 'keep-alive' | 'close' | 'upgrade';

export class UpstreamRequest {
  readonly method: string;
  readonly #rewritten: RewrittenRequest;

  constructor(method: string, rewritten: RewrittenRequest) {
    this.method = method;
    this.#rewritten = rewritten;
  }

  /** Whether a body follows the head (Content-Length > 0 or Transfer-Encoding). */
  get hasBody(): boolean {
    return this.#rewritten.hasBody;
  }

  /** How the body is framed upstream: as the client framed it, else re-chunked. */
  get bodyFraming(): BodyFraming {
    const framing = this.#rewritten.framing;
    return framing.kind === 'length' ? { chunked: false, contentLength: framing.contentLength } : { chunked: true };
  }

  /** The head for `path` (a watch resumes at another path than it began). */
  head(path: string, fate: StreamFate): string {
    if (fate === 'upgrade') return requestHead(this.method, path, this.#rewritten.headers);
    const headers = this.#rewritten.headers.slice();
    if (this.#rewritten.framing.kind === 'none' && !NO_DEFAULT_LENGTH.has(this.method)) headers.push('Content-Length', '0');
    headers.push('Connection', fate);
    return requestHead(this.method, path, headers);
  }
}

/**
 * Rewrites one request from kubectl for the agent. Returns why it cannot be sent instead when its
 * head could not be written safely (Node's server refuses most such input before it gets here).
 */
export function prepareUpstreamRequest(
  method: string,
  path: string,
  rawHeaders: readonly string[],
  opts: { bearerToken?: string | undefined; upgrade: boolean; trace?: RequestTrace | undefined },
): UpstreamRequest | { problem: string } {
  const rewritten = rewriteRequestHeaders(rawHeaders, {
    upgrade: opts.upgrade,
    trace: opts.trace,
    ...(opts.bearerToken === undefined ? {} : { bearerToken: opts.bearerToken }),
  });
  const problem = unsendableHead(method, path, rewritten.headers);
  return problem === undefined ? new UpstreamRequest(method, rewritten) : { problem };
}
