/**
 * Keeps one relay connection open and unused, so the first request after an idle spell does not
 * pay for a relay handshake (TLS, rendezvous, the agent's accept). Bounded to one; handed out to
 * the next dial and replaced in the background; replaced when the relay credential changes. A
 * spare that cannot be opened (the agent is offline) is not retried in the background: the next
 * successful dial of a real request brings it back, so an offline agent costs no traffic.
 * The spare has the relay stream's keep-alive, so a dead one is dropped, not handed out.
 */
import type { Duplex } from 'node:stream';
import type { StreamDialer } from './dialer.js';
import { streamIsUsable } from '../relay/stream.js';

const ignore = (): void => undefined;

export interface WarmSpareOptions {
  /** A spare that dies younger than this is not replaced until a real dial succeeds (no dial loops). Default 1000. */
  minLifetimeMs?: number;
  now?: () => number;
}

export class WarmSpareDialer implements StreamDialer {
  readonly #inner: StreamDialer;
  readonly #abort = new AbortController();
  readonly #minLifetimeMs: number;
  readonly #now: () => number;
  #spare: Duplex | undefined;
  #dialing: Promise<void> | undefined;
  /** Bumped when the credential changes, so a dial begun with the old one is not kept. */
  #generation = 0;

  constructor(inner: StreamDialer, opts: WarmSpareOptions = {}) {
    this.#inner = inner;
    this.#minLifetimeMs = opts.minLifetimeMs ?? 1_000;
    this.#now = opts.now ?? Date.now;
  }

  /** Whether a spare is open right now (for tests and diagnostics). */
  get ready(): boolean {
    return this.#spare !== undefined;
  }

  retired(stream: Duplex): boolean {
    return this.#inner.retired?.(stream) ?? false;
  }

  async dial(signal?: AbortSignal): Promise<Duplex> {
    const spare = this.#take();
    if (spare) {
      this.fill();
      return spare;
    }
    const stream = await this.#inner.dial(signal);
    this.fill();
    return stream;
  }

  /** Opens a spare if there is none (and none on the way). */
  fill(): void {
    if (this.#abort.signal.aborted || this.#spare || this.#dialing) return;
    const generation = this.#generation;
    this.#dialing = this.#inner.dial(this.#abort.signal).then(
      (stream) => {
        this.#dialing = undefined;
        // Its age counts from when it opened: a dial may retry for seconds before it does.
        const openedAt = this.#now();
        if (this.#abort.signal.aborted || generation !== this.#generation) {
          stream.destroy();
          if (!this.#abort.signal.aborted) this.fill();
          return;
        }
        // An unused stream has no reader; errors are reported through 'close'.
        stream.on('error', ignore);
        stream.once('close', () => {
          if (this.#spare !== stream) return;
          this.#spare = undefined;
          // A relay blip: replace it. One that dies at once waits for a real dial instead.
          if (this.#now() - openedAt >= this.#minLifetimeMs) this.fill();
        });
        this.#spare = stream;
      },
      () => {
        // Offline or failing: stay empty until a real dial succeeds.
        this.#dialing = undefined;
      },
    );
  }

  /** The credential changed: replace the spare with one opened with the new credential. */
  refresh(): void {
    this.#generation++;
    const had = this.#spare !== undefined;
    this.#take()?.destroy();
    // A dial in flight is discarded and replaced when it lands; none open stays none.
    if (had) this.fill();
  }

  close(): void {
    this.#abort.abort();
    this.#take()?.destroy();
  }

  #take(): Duplex | undefined {
    const spare = this.#spare;
    this.#spare = undefined;
    if (!spare || !streamIsUsable(spare)) {
      spare?.destroy();
      return undefined;
    }
    spare.off('error', ignore);
    return spare;
  }
}
