/**
 * Lets the local listener open before the relay credential is known: start-up opens the port
 * (failing fast when it is busy) while sign-in and ARM calls run, and requests that arrive early
 * wait for the real dialer.
 */
import type { Duplex } from 'node:stream';
import type { StreamDialer } from './dialer.js';

export class DeferredDialer implements StreamDialer {
  #resolve!: (d: StreamDialer) => void;
  #reject!: (e: unknown) => void;
  readonly #ready: Promise<StreamDialer>;

  constructor() {
    this.#ready = new Promise((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    this.#ready.catch(() => undefined);
  }

  #dialer: StreamDialer | undefined;
  #settled = false;

  /** The real dialer; ignored once fail() or set() has settled the outcome. */
  set(dialer: StreamDialer): void {
    if (this.#settled) return;
    this.#settled = true;
    this.#dialer = dialer;
    this.#resolve(dialer);
  }

  fail(err: unknown): void {
    if (this.#settled) return;
    this.#settled = true;
    this.#reject(err);
  }

  retired(stream: Duplex): boolean {
    return this.#dialer?.retired?.(stream) ?? false;
  }

  /**
   * Goes straight to the real dialer once it is set; until then waits for it, in order. A waiting
   * dial whose signal aborts (its client went away, or shutdown) rejects at once and never
   * reaches the real dialer.
   */
  dial(signal?: AbortSignal): Promise<Duplex> {
    if (this.#dialer) return this.#dialer.dial(signal);
    if (!signal) return this.#ready.then((d) => d.dial());
    if (signal.aborted) return Promise.reject(signal.reason as Error);
    return new Promise((resolve, reject) => {
      const onAbort = (): void => reject(signal.reason as Error);
      signal.addEventListener('abort', onAbort, { once: true });
      this.#ready.then(
        (d) => {
          signal.removeEventListener('abort', onAbort);
          if (!signal.aborted) resolve(d.dial(signal));
        },
        (err: unknown) => {
          signal.removeEventListener('abort', onAbort);
          reject(err as Error);
        },
      );
    });
  }
}
