/**
 * The body of a pods/log response: cut at limitBytes and then ended (as the kubelet's limited
 * writer does), and fed from a chunk source only as fast as the client reads.
 */

/** What the log needs of its response (a ServerResponse; any Writable in tests). */
export interface LogSink {
  write(chunk: Buffer | string): boolean;
  end(): void;
  once(event: 'drain', listener: () => void): unknown;
  readonly writableEnded: boolean;
  readonly destroyed: boolean;
}

export class LogOutput {
  readonly #sink: LogSink;
  /** Bytes still allowed by limitBytes. */
  #left: number;

  constructor(sink: LogSink, limitBytes?: number) {
    this.#sink = sink;
    this.#left = limitBytes ?? Infinity;
  }

  /** Nothing more can be written: the limit was reached, or the response ended or closed. */
  get closed(): boolean {
    return this.#sink.writableEnded || this.#sink.destroyed;
  }

  /** Writes what the limit allows; false when the caller should wait for 'drain' (or stop, if closed). */
  write(data: Buffer | string): boolean {
    if (this.closed) return false;
    if (this.#left === Infinity) return this.#sink.write(data);
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    if (bytes.length < this.#left) {
      this.#left -= bytes.length;
      return this.#sink.write(bytes);
    }
    this.#sink.write(bytes.subarray(0, this.#left));
    this.#left = 0;
    this.#sink.end();
    return false;
  }

  /**
   * Writes every chunk, taking the next only when the sink has room (after 'drain'), so a slow
   * or paused client holds back the source instead of filling memory. Calls `done` after the
   * last one, unless the output closed first.
   */
  pump(chunks: Iterator<Buffer>, done: () => void): void {
    const step = (): void => {
      while (!this.closed) {
        const next = chunks.next();
        if (next.done) return done();
        if (!this.write(next.value)) {
          if (!this.closed) this.#sink.once('drain', step);
          return;
        }
      }
    };
    step();
  }
}
