/**
 * The pool of kept-alive streams that ordinary requests ride on, one request at a time each.
 * take() hands out the most recently used idle stream (LIFO, so the others age out on the idle
 * timer), else the prewarmed one, else dials a new one; release() takes a stream back after a
 * response that ended cleanly. At most maxIdleStreams wait idle, each for idleStreamTimeoutMs.
 * dial() opens a stream outside the pool, for a request that must not share a pooled stream's
 * fate (a retry, a watch resumed after a relay drop); its user closes it. warmIdle() dials several
 * at once ahead of a burst (kubectl's discovery sends a dozen requests together), now or after a
 * delay; a request that finds none idle claims one of those still to come (starting it at once if
 * it was waiting for the delay) before it dials one of its own.
 *
 * An idle stream is read (not paused), so a close or an unexpected byte from the agent is seen
 * at once and the stream dropped, never handed to the next request. A stream the dialer has
 * retired (opened with a relay credential since replaced: its hybrid connection will be deleted)
 * takes no new request either; it is closed when taken from idle or released.
 */
import type { Duplex } from 'node:stream';
import { ArcproxyError } from '../errors/index.js';
import type { StreamDialer } from '../tunnel/dialer.js';

export interface StreamPoolOptions {
  dialer: StreamDialer;
  /** Most idle streams kept open; more are closed when their request ends. */
  maxIdleStreams: number;
  /** An idle stream is closed after this long. */
  idleStreamTimeoutMs: number;
  /** Aborts dials still in progress (on shutdown). */
  signal: AbortSignal;
}

export interface TakenStream {
  stream: Duplex;
  /**
   * It had been waiting (idle or prewarmed): the relay may have dropped it just before the
   * request went out, so a request that fails on it without an answer is worth one more try.
   */
  reused: boolean;
}

/**
 * Whatever a stream's state, its errors end in 'close', which every user watches; this keeps an
 * error with no other listener from crashing the process. One function for every stream.
 */
const ignore = (): void => undefined;

function usable(stream: Duplex): boolean {
  return !stream.destroyed && stream.writable && !stream.readableEnded;
}

/**
 * A warmIdle() dial, waiting for its start or on its way; `claim` is the resolver of the request
 * that claimed it; `start()` dials it now (once: a claim does not wait for warmIdle's delay).
 */
interface WarmingDial {
  claim: ((stream: Duplex | undefined) => void) | undefined;
  started: boolean;
  start: () => void;
}

export class StreamPool {
  readonly #dialer: StreamDialer;
  readonly #maxIdle: number;
  readonly #idleMs: number;
  readonly #signal: AbortSignal;
  /** Idle streams, the most recently released last. */
  readonly #idle: Duplex[] = [];
  readonly #idleTimers = new Map<Duplex, NodeJS.Timeout>();
  /** A stream dialled ahead of the first request (prewarm), handed out when no idle one is left. */
  #prewarmed: Duplex | undefined;
  #destroyed = false;
  /** warmIdle() dials on their way; a claimed one (with the request's resolver) goes to its request, the others wait idle. */
  readonly #warming: WarmingDial[] = [];
  // Listeners for waiting streams, shared by all of them (`this` is the stream).
  readonly #onWaitingClose: (this: Duplex) => void;
  readonly #dropWaiting: (this: Duplex) => void;

  constructor(opts: StreamPoolOptions) {
    this.#dialer = opts.dialer;
    this.#maxIdle = opts.maxIdleStreams;
    this.#idleMs = opts.idleStreamTimeoutMs;
    this.#signal = opts.signal;
    const forget = (stream: Duplex): void => this.#forget(stream);
    this.#onWaitingClose = function (this: Duplex) {
      forget(this);
    };
    // The agent closed it, or sent bytes nobody asked for: either way it is done.
    this.#dropWaiting = function (this: Duplex) {
      this.destroy();
    };
  }

  /** A stream for the next request: idle (LIFO), else prewarmed, else newly dialled. */
  take(): Promise<TakenStream> {
    if (this.#signal.aborted) return Promise.reject(shuttingDown());
    const waiting = this.takeWaiting();
    if (waiting !== undefined) return Promise.resolve(waiting);
    return this.dial().then((s) => ({ stream: s, reused: false }));
  }

  /** A stream that is already open (idle, else prewarmed), or undefined: a caller must dial. */
  takeWaiting(): TakenStream | undefined {
    if (this.#signal.aborted) return undefined;
    let stream: Duplex | undefined;
    while ((stream = this.#idle.pop()) !== undefined) {
      this.#unpark(stream);
      if (this.#usable(stream)) return { stream, reused: true };
      stream.destroy();
    }
    stream = this.#takePrewarmed();
    return stream === undefined ? undefined : { stream, reused: true };
  }

  /**
   * A new stream outside the pool; never given back (its user destroys it). Rejects with the
   * dialer's error, or ARCPROXY_SHUTTING_DOWN once the pool's signal is aborted. `signal` (the
   * request's) cancels the dial too: a client that resets its stream at once must not leave a
   * relay connection being opened for nobody (a flood of them would multiply relay connections).
   */
  async dial(signal?: AbortSignal): Promise<Duplex> {
    if (this.#signal.aborted) throw shuttingDown();
    let stream: Duplex;
    try {
      stream = await this.#dialer.dial(signal ? AbortSignal.any([this.#signal, signal]) : this.#signal);
    } catch (err) {
      throw err instanceof Error ? err : new Error(String(err));
    }
    if (this.#signal.aborted) {
      stream.destroy();
      throw shuttingDown();
    }
    if (signal?.aborted) {
      stream.destroy();
      throw signal.reason instanceof Error ? signal.reason : new Error('the request was cancelled');
    }
    stream.on('error', ignore);
    return stream;
  }

  /**
   * Dials in parallel until `count` streams wait (idle, prewarmed, or on their way), so a burst of
   * parallel requests rides open streams instead of each paying a relay dial. The dials start
   * after `startInMs` (0: now); until then they count as on their way, and a request that claims
   * one starts it at once. They age out on the idle timer like any idle stream. Resolves how many
   * wait idle then; never rejects (a failed dial leaves one fewer).
   */
  async warmIdle(count: number, startInMs = 0): Promise<number> {
    if (this.#signal.aborted || this.#destroyed) return 0;
    const have = this.#idle.length + (this.#prewarmed ? 1 : 0) + this.#warming.length;
    const wanted = Math.max(0, Math.min(count, this.#maxIdle) - have);
    const dials = Array.from({ length: wanted }, () => this.#queueWarm());
    const startAll = (): void => dials.forEach((d) => d.start());
    // Unref'd: waiting dials never keep the process alive; after shutdown their start dials nothing.
    if (startInMs > 0 && wanted > 0) setTimeout(startAll, startInMs).unref();
    else startAll();
    await Promise.all(dials.map((d) => d.landed));
    return this.#idle.length;
  }

  /**
   * A warmIdle() dial still to come, for a request that found nothing idle: resolves its stream,
   * or undefined when that dial failed (the request then dials its own). One already on its way
   * is taken first, else one waiting for its start, which starts now. Undefined when none is unclaimed.
   */
  claimWarming(): Promise<Duplex | undefined> | undefined {
    const unclaimed = this.#warming.filter((w) => w.claim === undefined);
    const entry = unclaimed.find((w) => w.started) ?? unclaimed[0];
    if (!entry) return undefined;
    const stream = new Promise<Duplex | undefined>((resolve) => (entry.claim = resolve));
    entry.start();
    return stream;
  }

  /** A warmIdle() dial, not started yet; `landed` settles once it is idle or claimed, or failed. */
  #queueWarm(): { start: () => void; landed: Promise<void> } {
    let settle!: () => void;
    const landed = new Promise<void>((resolve) => (settle = resolve));
    const entry: WarmingDial = {
      claim: undefined,
      started: false,
      start: () => {
        if (entry.started) return;
        entry.started = true;
        void this.#warmOne(entry).then(settle);
      },
    };
    this.#warming.push(entry);
    return { start: entry.start, landed };
  }

  async #warmOne(entry: WarmingDial): Promise<void> {
    let stream: Duplex | undefined;
    try {
      stream = await this.dial();
    } catch {
      stream = undefined;
    }
    this.#warming.splice(this.#warming.indexOf(entry), 1);
    if (entry.claim) entry.claim(stream);
    else if (stream) this.release(stream);
  }

  /** Takes back a stream whose response ended cleanly and that may carry another request. */
  release(stream: Duplex): void {
    if (this.#destroyed || this.#signal.aborted || !this.#usable(stream) || this.#idle.length >= this.#maxIdle) {
      stream.destroy();
      return;
    }
    this.#park(stream);
    this.#idle.push(stream);
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
      stream = await this.dial();
    } catch {
      return false;
    }
    if (this.#destroyed || this.#signal.aborted || (this.#prewarmed && usable(this.#prewarmed))) {
      stream.destroy();
      return !this.#signal.aborted && !this.#destroyed;
    }
    this.#prewarmed?.destroy();
    this.#prewarmed = stream;
    this.#park(stream);
    return true;
  }

  /** Open, and not retired by the dialer (a stream on a replaced credential's hybrid connection takes no new request). */
  #usable(stream: Duplex): boolean {
    return usable(stream) && !this.#dialer.retired?.(stream);
  }

  /** Closes every waiting stream; later releases close theirs. */
  destroy(): void {
    this.#destroyed = true;
    const waiting = this.#idle.splice(0);
    if (this.#prewarmed) waiting.push(this.#prewarmed);
    this.#prewarmed = undefined;
    for (const stream of waiting) {
      this.#unpark(stream);
      stream.destroy();
    }
  }

  #takePrewarmed(): Duplex | undefined {
    const stream = this.#prewarmed;
    this.#prewarmed = undefined;
    if (stream === undefined) return undefined;
    this.#unpark(stream);
    if (this.#usable(stream)) return stream;
    stream.destroy();
    return undefined;
  }

  /** Watches a waiting stream and starts its idle timer. */
  #park(stream: Duplex): void {
    stream.on('data', this.#dropWaiting);
    stream.on('end', this.#dropWaiting);
    stream.on('close', this.#onWaitingClose);
    const timer = setTimeout(() => {
      this.#idleTimers.delete(stream);
      stream.destroy();
    }, this.#idleMs);
    // Idle streams must not keep the process alive.
    timer.unref();
    this.#idleTimers.set(stream, timer);
    stream.resume();
  }

  /** Undoes #park: the stream goes to a request, paused until it reads. */
  #unpark(stream: Duplex): void {
    stream.pause();
    stream.off('data', this.#dropWaiting);
    stream.off('end', this.#dropWaiting);
    stream.off('close', this.#onWaitingClose);
    const timer = this.#idleTimers.get(stream);
    if (timer !== undefined) clearTimeout(timer);
    this.#idleTimers.delete(stream);
  }

  /** A waiting stream closed (the relay dropped it, or its idle timer): let it go. */
  #forget(stream: Duplex): void {
    this.#unpark(stream);
    const i = this.#idle.lastIndexOf(stream);
    if (i !== -1) this.#idle.splice(i, 1);
    if (this.#prewarmed === stream) this.#prewarmed = undefined;
  }
}

function shuttingDown(): ArcproxyError {
  return new ArcproxyError('ARCPROXY_SHUTTING_DOWN', 'arcproxy is shutting down');
}
