/**
 * The cluster agent's response as the proxy relays it: status, raw headers and a body that is
 * read with events ('data', 'end', 'close') and pause()/resume(), like a small IncomingMessage
 * without the stream machinery. The body starts paused: attach listeners, then resume().
 *
 * Pausing pauses the relay stream underneath, so backpressure from kubectl reaches the agent.
 * Bytes that were already in hand when it paused (the rest of one received chunk) wait here.
 * 'close' always comes last: after 'end' (complete is true), or alone when the body was cut.
 */
import { EventEmitter } from 'node:events';
import type { ResponseHead } from './http1-response.js';

/** Where the body comes from: the exchange reading the relay stream. */
export interface BodySource {
  pause(): void;
  resume(): void;
  /** The reader is no longer interested: drop the stream (unless it has already been let go). */
  abort(): void;
}

/** The events an UpstreamResponse emits, typed for its listeners. */
interface UpstreamResponseEvents {
  data: [chunk: Buffer];
  end: [];
  close: [];
}

export class UpstreamResponse extends EventEmitter<UpstreamResponseEvents> {
  readonly statusCode: number;
  readonly statusMessage: string;
  /** [name, value, ...] as the agent sent them. */
  readonly rawHeaders: string[];
  /** The whole body has been received (it may not all have been read yet). */
  complete = false;
  readonly #source: BodySource;
  #paused = true;
  /** Bytes received while paused, in order. */
  #queue: Buffer[] | undefined;
  /** The body is complete but 'end' waits for the queue to be read. */
  #endPending = false;
  #closed = false;
  #flushing = false;

  constructor(head: ResponseHead, source: BodySource) {
    super();
    this.statusCode = head.statusCode;
    this.statusMessage = head.statusMessage;
    this.rawHeaders = head.rawHeaders;
    this.#source = source;
  }

  get destroyed(): boolean {
    return this.#closed;
  }

  pause(): void {
    if (this.#paused) return;
    this.#paused = true;
    this.#source.pause();
  }

  resume(): void {
    this.#paused = false;
    this.#flush();
  }

  /** Stops reading: the stream under an incomplete body is dropped; 'close' follows. */
  destroy(): void {
    if (this.#closed) return;
    this.#queue = undefined;
    this.#source.abort();
    this.#close();
  }

  /** From the exchange: the next piece of the body. */
  deliver(chunk: Buffer): void {
    if (this.#closed) return;
    if (!this.#paused && this.#queue === undefined) {
      this.emit('data', chunk);
      return;
    }
    (this.#queue ??= []).push(chunk);
    this.#source.pause();
  }

  /** From the exchange: the body is complete. */
  finish(): void {
    if (this.#closed) return;
    this.complete = true;
    this.#endPending = true;
    if (!this.#paused && this.#queue === undefined) this.#end();
  }

  /** From the exchange: the stream died before the body was complete. */
  cut(): void {
    if (this.#closed || this.complete) return;
    this.#queue = undefined;
    this.#close();
  }

  #flush(): void {
    // A resume() from inside a 'data' listener lets the loop below carry on.
    if (this.#flushing || this.#closed) return;
    this.#flushing = true;
    const queue = this.#queue;
    while (queue !== undefined && queue.length > 0 && !this.#paused && !this.#closed) this.emit('data', queue.shift()!);
    this.#flushing = false;
    if (this.#paused || this.#closed) return;
    this.#queue = undefined;
    if (this.#endPending) this.#end();
    else this.#source.resume();
  }

  #end(): void {
    this.#endPending = false;
    this.emit('end');
    this.#close();
  }

  #close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.emit('close');
  }
}
