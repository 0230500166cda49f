/**
 * The listener's HTTP/2 requests and responses, made to behave like the HTTP/1.1 ones the rest of
 * src/proxy handles (forward-request.ts, watch-resume.ts, status.ts), so the forwarding code is one
 * for both versions. Node's compat classes, subclassed through the documented
 * `Http2ServerRequest`/`Http2ServerResponse` server options, differ where it matters to a proxy:
 * - the request's header list holds pseudo-headers and may have a body without Content-Length,
 *   and a request the client reset ends like a complete one;
 * - the response has no `destroyed`, counts a reset stream as finished, warns on a status message,
 *   keeps the headers of a writeHead that failed, and `destroy()` resets the stream with NO_ERROR,
 *   which a client takes for the end of a complete response.
 */
import {
  Http2ServerRequest,
  Http2ServerResponse,
  type IncomingHttpHeaders,
  type OutgoingHttpHeaders,
  type ServerHttp2Stream,
  type ServerStreamResponseOptions,
} from 'node:http2';
import type { ReadableOptions } from 'node:stream';
import { http1RequestHeaders } from './headers.js';
import { OpenStream, type OpenEndable } from './open-streams.js';

export class ProxyHttp2Request extends Http2ServerRequest {
  constructor(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, options: ReadableOptions, rawHeaders: readonly string[]) {
    // `rawHeaders` is the request as HTTP/1.1 carries it upstream (headers.ts): the only view
    // of the headers forwarding uses. `url` and `method` still come from the pseudo-headers.
    super(stream, headers, options, http1RequestHeaders(rawHeaders, { body: !stream.endAfterHeaders }));
    // A client that resets its stream mid-upload: Node's request ends cleanly on any stream
    // close, a turn later, so a body cut short could reach the agent as a complete one (a
    // truncated apply). Forwarding happens to drop the upstream request first, on the response's
    // 'close', but that must not rest on the order of two events: the request fails instead, as
    // an HTTP/1.1 request does when its connection drops, with no 'end'.
    this.once('aborted', () => this.destroy(Object.assign(new Error('the client reset the request'), { code: 'ECONNRESET' })));
    // Whoever handles the request listens for errors; none may crash the process meanwhile.
    this.on('error', () => undefined);
  }
}

/** ServerHttp2Stream's own respond(), asked not to wait for trailers (see ProxyHttp2Response.writeHead). */
function respondWithoutTrailers(this: ServerHttp2Stream, headers?: OutgoingHttpHeaders, options?: ServerStreamResponseOptions): void {
  Object.getPrototypeOf(this).respond.call(this, headers, { ...options, waitForTrailers: false });
}

/** Why a response was reset rather than ended: the upstream response was cut, or the proxy gave up on it. */
class ResponseCutShort extends Error {
  constructor() {
    super('the response was cut short');
  }
}

export class ProxyHttp2Response extends Http2ServerResponse<ProxyHttp2Request> implements OpenEndable {
  /** Set for a watch or `logs -f`, which a stop ends cleanly (open-streams.ts). */
  #open: OpenStream | undefined;

  markOpenEnded(): void {
    this.#open = new OpenStream({ write: (chunk) => super.write(chunk), end: () => void super.end() });
  }

  endAtStop(): void {
    if (!this.writableEnded) this.#open?.stop(this.headersSent);
  }

  get endedAtStop(): boolean {
    return this.#open?.endedAtStop ?? false;
  }

  override write(chunk: string | Uint8Array, encoding?: BufferEncoding | ((err: Error) => void), callback?: (err: Error) => void): boolean {
    if (this.#open) return this.#open.write(chunk);
    return super.write(chunk, encoding as BufferEncoding, callback);
  }

  override writeHead(statusCode: number, headers?: OutgoingHttpHeaders | readonly string[]): this;
  override writeHead(statusCode: number, statusMessage: string, headers?: OutgoingHttpHeaders | readonly string[]): this;
  override writeHead(statusCode: number, a?: string | OutgoingHttpHeaders | readonly string[], b?: OutgoingHttpHeaders | readonly string[]): this {
    // HTTP/2 has no reason phrase; Node would print an UnsupportedWarning on stderr for one.
    // A flat [name, value, ...] list is accepted at run time like HTTP/1.1's, not by the typings.
    const headers = (typeof a === 'string' ? b : a) as OutgoingHttpHeaders | undefined;
    // Node's compat response always responds with `waitForTrailers`, so END_STREAM follows the
    // body in a frame of its own: one more TLS record and socket write per response, and the
    // client sees the response complete a turn of the event loop later. arcproxy never sends
    // trailers: this stream's respond() goes without them, and END_STREAM rides on the last DATA.
    this.stream.respond = respondWithoutTrailers;
    try {
      super.writeHead(statusCode, headers);
    } catch (err) {
      // Headers HTTP/1.1 carries and HTTP/2 refuses (a repeated Content-Type or Location): the
      // caller answers with an error instead, which must not inherit them and throw again.
      for (const name of this.getHeaderNames()) this.removeHeader(name);
      throw err;
    }
    this.#open?.headers(statusCode, headers);
    return this;
  }

  /**
   * Resets the stream with INTERNAL_ERROR. Node's destroy() without an error resets it with
   * NO_ERROR after ending the body, so a response cut short upstream would reach the client as a
   * complete one (`logs -f` would stop silently, a truncated list would parse as whole).
   */
  override destroy(err?: Error): this {
    // Ended cleanly at a stop: what is cut afterwards (the upstream) must not turn that into a reset.
    if (this.#open?.endedAtStop) return this;
    super.destroy(err ?? new ResponseCutShort());
    return this;
  }
}

// Two members the forwarding code reads as on an HTTP/1.1 ServerResponse, declared on the prototype
// since the typings (wrongly) declare the compat response a Writable with fields of these names.
Object.defineProperties(ProxyHttp2Response.prototype, {
  // The compat response is a legacy Stream, not a Writable: it has no `destroyed`. Forwarding
  // reads it to skip work for a client that is gone.
  destroyed: {
    get(this: ProxyHttp2Response): boolean {
      return this.stream.destroyed;
    },
  },
  // Whether the whole response went out. Node's is the stream's, which a reset also finishes
  // (it ends the writable side): forwarding would take a client that went away for a complete
  // response and leave the upstream request running.
  writableFinished: {
    get(this: ProxyHttp2Response): boolean {
      return this.writableEnded && !this.stream.aborted && this.stream.writableFinished;
    },
  },
});
