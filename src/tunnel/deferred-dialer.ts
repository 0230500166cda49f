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

  set(dialer: StreamDialer): void {
    this.#resolve(dialer);
  }

  fail(err: unknown): void {
    this.#reject(err);
  }

  async dial(signal?: AbortSignal): Promise<Duplex> {
    return (await this.#ready).dial(signal);
  }
}
