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

/**
 * http's client and Agent call a few net.Socket methods on whatever stream they get; a relay
 * stream is a plain Duplex. No-op versions are added in place (not by wrapping) so each byte
 * still goes through one stream, not two.
 */
function adaptStream(stream: Duplex): Duplex {
  const s = stream as Socketish;
  for (const method of ['ref', 'unref', 'setKeepAlive', 'setNoDelay', 'setTimeout'] as const) {
    if (typeof s[method] !== 'function') s[method] = function (this: Duplex) { return this; };
  }
  return stream;
}

export class StreamPool extends Agent {
  readonly #dialer: StreamDialer;
  readonly #idleMs: number;
  readonly #signal: AbortSignal;
  readonly #idleTimers = new Map<Duplex, NodeJS.Timeout>();

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

  /** Called by the Agent when a request has finished with a stream that may be kept. */
  override keepSocketAlive(socket: Duplex): boolean {
    this.#clearIdle(socket);
    const timer = setTimeout(() => {
      this.#idleTimers.delete(socket);
      socket.destroy();
    }, this.#idleMs);
    timer.unref();
    this.#idleTimers.set(socket, timer);
    return true;
  }

  /** Called by the Agent when an idle stream is handed to a new request. */
  override reuseSocket(socket: Duplex, request: ClientRequest): void {
    this.#clearIdle(socket);
    super.reuseSocket(socket, request);
  }

  override destroy(): void {
    for (const timer of this.#idleTimers.values()) clearTimeout(timer);
    this.#idleTimers.clear();
    super.destroy();
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
