/**
 * Responses that never end by themselves (watches, `logs -f`) and how arcproxy ends them when it
 * stops: as the apiserver does at a watch timeout, with a clean end of the body (HTTP/2 END_STREAM,
 * HTTP/1.1's last chunk), so kubectl's watch ends and `logs -f` exits 0, instead of a reset that
 * kubectl reports as a stream error after the whole grace period. The end falls between two
 * messages of the stream (a JSON event or log line ends with a newline; a protobuf watch frame has
 * a length prefix), never inside one: a half event would fail to decode.
 */
import type { OutgoingHttpHeaders } from 'node:http';
import { headerValue } from './headers.js';

/** A GET watch (`?watch=1|true` or a /watch/ path) or followed log (`?follow=1|true`). */
export function isOpenEnded(method: string | undefined, path: string): boolean {
  if ((method ?? 'GET').toUpperCase() !== 'GET') return false;
  // Every request passes here: the common case never parses a URL.
  if (!path.includes('watch') && !path.includes('follow') && !path.includes('%')) return false;
  const url = new URL(path, 'http://x');
  const yes = (name: string) => ['1', 'true'].includes(url.searchParams.get(name) ?? '');
  return yes('watch') || yes('follow') || /^\/apis?\/(?:[^/]+\/)*watch\//.test(url.pathname);
}

/** Where messages end in a streamed body: after a newline, after a length-prefixed frame, or after any write. */
type Framing = 'lines' | 'frames' | 'writes';

function framingOf(contentType: string): Framing {
  const type = contentType.toLowerCase();
  // application/vnd.kubernetes.protobuf;stream=watch: a 4-byte big-endian length before each frame.
  if (type.includes('protobuf')) return 'frames';
  // JSON watch events and log lines end with "\n"; so does YAML's.
  if (type === '' || type.startsWith('application/json') || type.startsWith('text/') || type.includes('yaml')) return 'lines';
  return 'writes';
}

/** Follows the message boundaries of a body as it is written. */
class MessageBoundaries {
  readonly #framing: Framing;
  #lastWasNewline = true;
  /** Frames: header bytes read of the current length prefix, its value so far, and body bytes still to come. */
  #headerBytes = 0;
  #length = 0;
  #bodyLeft = 0;

  constructor(framing: Framing) {
    this.#framing = framing;
  }

  get atBoundary(): boolean {
    if (this.#framing === 'lines') return this.#lastWasNewline;
    if (this.#framing === 'frames') return this.#headerBytes === 0 && this.#bodyLeft === 0;
    return true;
  }

  /** Follows `chunk`; returns the offset just after the first boundary in it, or -1. */
  scan(chunk: Uint8Array): number {
    if (chunk.length === 0) return -1;
    if (this.#framing === 'writes') return chunk.length;
    if (this.#framing === 'lines') {
      this.#lastWasNewline = chunk[chunk.length - 1] === 0x0a;
      const nl = chunk.indexOf(0x0a);
      return nl === -1 ? -1 : nl + 1;
    }
    let first = -1;
    let i = 0;
    while (i < chunk.length) {
      if (this.#bodyLeft > 0) {
        const take = Math.min(this.#bodyLeft, chunk.length - i);
        i += take;
        this.#bodyLeft -= take;
        if (this.#bodyLeft === 0 && first === -1) first = i;
        continue;
      }
      this.#length = this.#length * 256 + chunk[i++]!;
      if (++this.#headerBytes < 4) continue;
      this.#bodyLeft = this.#length;
      this.#headerBytes = 0;
      this.#length = 0;
      if (this.#bodyLeft === 0 && first === -1) first = i;
    }
    return first;
  }
}

/** What a response class hands over for an open-ended stream: its own write and end. */
export interface Writer {
  write(chunk: Uint8Array): boolean;
  end(): void;
}

/** A response the listener can mark open-ended and end at a stop (both response classes are). */
export interface OpenEndable {
  markOpenEnded(): void;
  /** Ends the body cleanly as soon as it is between two messages. */
  endAtStop(): void;
  /** The body was ended by a stop, not by its upstream: the upstream is still to be let go. */
  readonly endedAtStop: boolean;
}

/**
 * One open-ended response's state: the response classes (http2-compat.ts, http1-compat.ts) route
 * their writeHead and writes through it once the listener has marked the response open-ended.
 */
export class OpenStream {
  readonly #writer: Writer;
  #boundaries = new MessageBoundaries('lines');
  #ending = false;
  /** Ended here, at a stop: later writes are dropped and destroy() is a no-op. */
  endedAtStop = false;

  constructor(writer: Writer) {
    this.#writer = writer;
  }

  /** After writeHead: the content type decides where messages end; a stop that came first ends a 2xx body now (empty). */
  headers(statusCode: number, headers: OutgoingHttpHeaders | readonly string[] | undefined): void {
    let type: string | undefined;
    if (Array.isArray(headers)) type = headerValue(headers as readonly string[], 'content-type');
    else if (headers) type = String((headers as OutgoingHttpHeaders)['content-type'] ?? '');
    this.#boundaries = new MessageBoundaries(framingOf(type ?? ''));
    if (this.#ending && statusCode >= 200 && statusCode < 300) this.#endNow();
  }

  /** A write of the body: passed on, cut at the first boundary once a stop asked for the end, dropped after it. */
  write(chunk: unknown): boolean {
    if (this.endedAtStop) return true;
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Uint8Array);
    const boundary = this.#boundaries.scan(bytes);
    if (!this.#ending || boundary === -1) return this.#writer.write(bytes);
    this.#writer.write(bytes.subarray(0, boundary));
    this.#endNow();
    return true;
  }

  /** The stop: ends the body now if it is between two messages (and has begun), else at the next boundary. */
  stop(headersSent: boolean): void {
    this.#ending = true;
    if (headersSent && this.#boundaries.atBoundary) this.#endNow();
  }

  #endNow(): void {
    if (this.endedAtStop) return;
    this.endedAtStop = true;
    this.#writer.end();
  }
}
