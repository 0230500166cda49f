/**
 * The listener's HTTP/1.1 response: node:http's own, plus what a stop needs of a watch or
 * `logs -f` (open-streams.ts): a clean end of the chunked body between two messages, after which
 * nothing more is written and nothing resets the connection under it.
 */
import { ServerResponse, type IncomingMessage, type OutgoingHttpHeader, type OutgoingHttpHeaders } from 'node:http';
import { OpenStream, type OpenEndable } from './open-streams.js';

export class ProxyHttp1Response<Request extends IncomingMessage = IncomingMessage> extends ServerResponse<Request> implements OpenEndable {
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

  override write(
    chunk: unknown,
    encoding?: BufferEncoding | ((error: Error | null | undefined) => void),
    callback?: (error: Error | null | undefined) => void,
  ): boolean {
    if (this.#open) return this.#open.write(chunk);
    return super.write(chunk, encoding as BufferEncoding, callback);
  }

  override writeHead(statusCode: number, statusMessage?: string, headers?: OutgoingHttpHeaders | OutgoingHttpHeader[]): this;
  override writeHead(statusCode: number, headers?: OutgoingHttpHeaders | OutgoingHttpHeader[]): this;
  override writeHead(statusCode: number, a?: string | OutgoingHttpHeaders | OutgoingHttpHeader[], b?: OutgoingHttpHeaders | OutgoingHttpHeader[]): this {
    if (typeof a === 'string') super.writeHead(statusCode, a, b);
    else super.writeHead(statusCode, a);
    this.#open?.headers(statusCode, (typeof a === 'string' ? b : a) as OutgoingHttpHeaders | readonly string[] | undefined);
    return this;
  }

  override destroy(err?: Error): this {
    // Ended cleanly at a stop: the upstream cut that follows must not cut the connection under it.
    if (this.#open?.endedAtStop) return this;
    return super.destroy(err);
  }
}
