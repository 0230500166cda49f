/**
 * A one-way network delay for the emulated relay: what goes in comes out `delayMs()` later, in
 * order, through one timer per direction (a queue, not a timer per chunk). The relay "in Azure"
 * is a WAN hop away; this lets a loopback emulator charge every byte that price.
 */

/** What a delay line can carry: bytes, then at most one end (clean close or reset). */
type Item = { at: number; chunk: Buffer } | { at: number; end: 'end' | 'destroy' };

export interface DelayLineOptions {
  /** The one-way delay now (ms); read per chunk, so a change applies to what is sent from then on. */
  delayMs: () => number;
  /** Receives chunks, in order, once their time has come. */
  deliver: (chunk: Buffer) => void;
  /** The sender finished ('end') or vanished ('destroy'): told after every chunk before it. */
  finish: (how: 'end' | 'destroy') => void;
  /** Nothing is delivered before this time (ms, same clock as `now`): a connection's handshake. */
  notBefore?: number;
  now?: () => number;
}

export class DelayLine {
  readonly #opts: DelayLineOptions;
  readonly #now: () => number;
  #queue: Item[] = [];
  #head = 0;
  #lastAt: number;
  #timer: NodeJS.Timeout | undefined;
  #queuedBytes = 0;
  #ended = false;

  constructor(opts: DelayLineOptions) {
    this.#opts = opts;
    this.#now = opts.now ?? Date.now;
    this.#lastAt = opts.notBefore ?? 0;
  }

  /** Bytes waiting for their time. */
  get queuedBytes(): number {
    return this.#queuedBytes;
  }

  push(chunk: Buffer): void {
    if (this.#ended) return;
    const at = this.#due();
    // Nothing to wait for: no timer, no queue (a zero delay costs nothing).
    if (at <= this.#now() && this.#head === this.#queue.length) return this.#opts.deliver(chunk);
    this.#queuedBytes += chunk.length;
    this.#enqueue({ at, chunk });
  }

  /** The sender is done (`end`) or gone (`destroy`); delivered after what it sent before. */
  finish(how: 'end' | 'destroy'): void {
    if (this.#ended) return;
    this.#ended = true;
    const at = this.#due();
    if (at <= this.#now() && this.#head === this.#queue.length) return this.#opts.finish(how);
    this.#enqueue({ at, end: how });
  }

  /** Drops what is queued without delivering it (the connection was cut). */
  clear(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#queue = [];
    this.#head = 0;
    this.#queuedBytes = 0;
    this.#ended = true;
  }

  // Never earlier than what was sent before it: a shorter delay from now on must not reorder.
  #due(): number {
    this.#lastAt = Math.max(this.#now() + this.#opts.delayMs(), this.#lastAt);
    return this.#lastAt;
  }

  #enqueue(item: Item): void {
    this.#queue.push(item);
    if (!this.#timer) this.#arm();
  }

  #arm(): void {
    const next = this.#queue[this.#head];
    if (!next) return;
    this.#timer = setTimeout(() => this.#flush(), Math.max(0, next.at - this.#now()));
  }

  #flush(): void {
    this.#timer = undefined;
    const now = this.#now();
    while (this.#head < this.#queue.length && this.#queue[this.#head]!.at <= now) {
      const item = this.#queue[this.#head++]!;
      if ('chunk' in item) {
        this.#queuedBytes -= item.chunk.length;
        this.#opts.deliver(item.chunk);
      } else {
        this.#opts.finish(item.end);
      }
    }
    if (this.#head === this.#queue.length) {
      this.#queue = [];
      this.#head = 0;
    } else if (this.#head > 1024) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
    this.#arm();
  }
}
