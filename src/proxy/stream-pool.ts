/**
 * The pool of kept-alive streams that ordinary requests ride on: an http.Agent whose
 * connections are dialled through the StreamDialer. The Agent already does the hard parts
 * (one request per stream at a time, free list, reuse, dropping streams that close); this adds
 * the asynchronous dial, a bound on idle streams and an idle timeout of our own.
 */
import { Agent, type ClientRequest, type ClientRequestArgs } from 'node:http';
import type { Duplex } from 'node:stream';
import { ArcproxyError, ExitCode } from '../errors.js';
import type { StreamDialer } from './dialer.js';

export interface StreamPoolOptions {
  dialer: StreamDialer;
  /** Most idle streams kept open; more are closed when their request ends. */
  maxIdleStreams: number;
  /** An idle stream is closed after this long. */
  idleStreamTimeoutMs: number;
  /** Aborts dials still in progress (on shutdown). */
  signal: AbortSignal;
}

type Socketish = Duplex & Partial<Record<'ref' | 'unref' | 'setKeepAlive' | 'setNoDelay' | 'setTimeout', unknown>>;

/** The no-op socket method: one function shared by every stream, not five new ones per stream. */
function returnThis(this: Duplex): Duplex {
  return this;
}

/**
 * http's client and Agent call a few net.Socket methods on whatever stream they get; a relay
 * stream is a plain Duplex. No-op versions are added in place (not by wrapping) so each byte
 * still goes through one stream, not two.
 */
function adaptStream(stream: Duplex): Duplex {
  const s = stream as Socketish;
  for (const method of ['ref', 'unref', 'setKeepAlive', 'setNoDelay', 'setTimeout'] as const) {
    if (typeof s[method] !== 'function') s[method] = returnThis;
  }
  return stream;
}

const ignore = (): void => undefined;

function usable(stream: Duplex): boolean {
  return !stream.destroyed && stream.writable && !stream.readableEnded;
}

export class StreamPool extends Agent {
  readonly #dialer: StreamDialer;
  readonly #idleMs: number;
  readonly #signal: AbortSignal;
  readonly #idleTimers = new Map<Duplex, NodeJS.Timeout>();
  /** A stream dialled ahead of the first request (prewarm), handed to the next new connection. */
  #prewarmed: Duplex | undefined;

  constructor(opts: StreamPoolOptions) {
    // lifo: the most recently used stream is reused, so the others age out on the idle timer.
    super({ keepAlive: true, maxFreeSockets: opts.maxIdleStreams, scheduling: 'lifo' });
    this.#dialer = opts.dialer;
    this.#idleMs = opts.idleStreamTimeoutMs;
    this.#signal = opts.signal;
  }

  override createConnection(_options: ClientRequestArgs, callback?: (err: Error | null, stream: Duplex) => void): undefined {
    const done = callback as (err: Error | null, stream?: Duplex) => void;
    if (this.#signal.aborted) {
      process.nextTick(done, shuttingDown());
      return undefined;
    }
    const ready = this.#takePrewarmed();
    if (ready) {
      process.nextTick(done, null, adaptStream(ready));
      return undefined;
    }
    this.#dialer.dial(this.#signal).then(
      (stream) => {
        if (this.#signal.aborted) {
          stream.destroy();
          done(shuttingDown());
          return;
        }
        // Whatever happens to it later, an idle timer never outlives its stream.
        stream.once('close', () => this.#clearIdle(stream));
        done(null, adaptStream(stream));
      },
      (err: unknown) => done(err instanceof Error ? err : new Error(String(err))),
    );
    // Node 20's Agent accepts the stream later through the callback when this returns nothing.
    return undefined;
  }

  /**
   * Dials one stream now and keeps it for the next request, so the first request after start-up
   * does not pay for a dial. Resolves true once it is open, false when the dial failed (the
   * dialer reports why; the next request dials again). Never rejects. At most one is kept.
   */
  async prewarm(): Promise<boolean> {
    if (this.#signal.aborted) return false;
    if (this.#prewarmed && usable(this.#prewarmed)) return true;
    let stream: Duplex;
    try {
      stream = await this.#dialer.dial(this.#signal);
    } catch {
      return false;
    }
    if (this.#signal.aborted || (this.#prewarmed && usable(this.#prewarmed))) {
      stream.destroy();
      return !this.#signal.aborted;
    }
    // Unused, it has no reader: errors end in 'close', which drops it.
    stream.on('error', ignore);
    stream.once('close', () => {
      this.#clearIdle(stream);
      if (this.#prewarmed === stream) this.#prewarmed = undefined;
    });
    this.#prewarmed = stream;
    this.#armIdle(stream);
    return true;
  }

  /** Called by the Agent when a request has finished with a stream that may be kept. */
  override keepSocketAlive(socket: Duplex): boolean {
    this.#armIdle(socket);
    return true;
  }

  #armIdle(socket: Duplex): void {
    this.#clearIdle(socket);
    const timer = setTimeout(() => {
      this.#idleTimers.delete(socket);
      socket.destroy();
    }, this.#idleMs);
    timer.unref();
    this.#idleTimers.set(socket, timer);
  }

  /** Called by the Agent when an idle stream is handed to a new request. */
  override reuseSocket(socket: Duplex, request: ClientRequest): void {
    this.#clearIdle(socket);
    super.reuseSocket(socket, request);
  }

  override destroy(): void {
    this.#prewarmed?.destroy();
    this.#prewarmed = undefined;
    for (const timer of this.#idleTimers.values()) clearTimeout(timer);
    this.#idleTimers.clear();
    super.destroy();
  }

  #takePrewarmed(): Duplex | undefined {
    const stream = this.#prewarmed;
    this.#prewarmed = undefined;
    if (!stream) return undefined;
    this.#clearIdle(stream);
    if (!usable(stream)) {
      stream.destroy();
      return undefined;
    }
    stream.off('error', ignore);
    return stream;
  }

  #clearIdle(socket: Duplex): void {
    const timer = this.#idleTimers.get(socket);
    if (timer === undefined) return;
    clearTimeout(timer);
    this.#idleTimers.delete(socket);
  }
}

function shuttingDown(): ArcproxyError {
  return new ArcproxyError('ARCPROXY_SHUTTING_DOWN', 'arcproxy is shutting down', ExitCode.ok);
}
