/**
 * Runs a refresh ahead of a deadline, again and again: after each success it asks when the next
 * one is due; after a failure it retries with jittered backoff until it succeeds or is stopped.
 * Used for the Entra token and the relay credential, so neither is ever fetched on a request's
 * critical path while the session is healthy. Timers are unref'd: a pending refresh never keeps
 * the process alive, and stop() clears them.
 */
import { backoffDelay, type BackoffPolicy } from './backoff.js';

export interface RefreshSchedulerOptions {
  /** When the next refresh is due (epoch ms); undefined = nothing to refresh yet. */
  dueAt: () => number | undefined;
  refresh: () => Promise<unknown>;
  /** A refresh failed; another attempt follows after `retryInMs`. */
  onError?: (err: unknown, retryInMs: number) => void;
  now?: () => number;
  retry?: BackoffPolicy;
  random?: () => number;
  /** Never run two refreshes closer than this, even when a refresh returns an already-due value. Default 1000. */
  minIntervalMs?: number;
}

/** How long before expiry to refresh: 5 minutes, or a third of a short lifetime. */
export function refreshMarginMs(lifetimeMs: number): number {
  return Math.min(5 * 60_000, Math.max(1_000, Math.floor(lifetimeMs / 3)));
}

const DEFAULT_RETRY: BackoffPolicy = { initialMs: 1_000, maxMs: 60_000 };
// setTimeout's largest delay; longer waits are re-evaluated when it fires.
const MAX_TIMER_MS = 2 ** 31 - 1;

export class RefreshScheduler {
  readonly #opts: RefreshSchedulerOptions;
  readonly #now: () => number;
  #timer: NodeJS.Timeout | undefined;
  #stopped = true;
  #failures = 0;

  constructor(opts: RefreshSchedulerOptions) {
    this.#opts = opts;
    this.#now = opts.now ?? Date.now;
  }

  get running(): boolean {
    return !this.#stopped;
  }

  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#schedule(0);
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** Plans the next run: at the due time, but no sooner than `floorMs` from now. */
  #schedule(floorMs: number): void {
    if (this.#stopped) return;
    const due = this.#opts.dueAt();
    if (due === undefined) return;
    this.#arm(Math.max(floorMs, due - this.#now()));
  }

  #arm(delayMs: number): void {
    if (this.#timer) clearTimeout(this.#timer);
    const capped = Math.min(Math.max(0, delayMs), MAX_TIMER_MS);
    this.#timer = setTimeout(() => (capped < delayMs ? this.#schedule(0) : this.#run()), capped);
    this.#timer.unref();
  }

  #run(): void {
    this.#timer = undefined;
    if (this.#stopped) return;
    this.#opts.refresh().then(
      () => {
        this.#failures = 0;
        this.#schedule(this.#opts.minIntervalMs ?? 1_000);
      },
      (err: unknown) => {
        if (this.#stopped) return;
        const wait = backoffDelay(this.#failures++, this.#opts.retry ?? DEFAULT_RETRY, this.#opts.random);
        this.#opts.onError?.(err, wait);
        this.#arm(wait);
      },
    );
  }
}
