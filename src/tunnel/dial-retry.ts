/**
 * Which relay dial failures are worth another attempt, and for how long. A dial has sent no
 * request byte yet, so retrying it is always safe; the question is only whether waiting can help
 * before kubectl should get its 503:
 *  - the relay unreachable, a handshake timeout or a 5xx refusal: transient, retried with
 *    jittered backoff for a few seconds;
 *  - no listener (the agent is down, or reconnecting after a relay blip): retried only briefly,
 *    so a blip is bridged but an offline agent is a fast 503, never a hang;
 *  - anything else (forbidden, aborted, a stale token, which the dialer renews itself): not retried.
 */
import { errorCodeOf } from '../errors/index.js';
import { RelayError } from '../relay/errors.js';
import { backoffDelay, type BackoffPolicy } from './backoff.js';

export interface DialRetryOptions {
  /** Total time budget for transient failures. Default 3000. */
  transientBudgetMs?: number;
  /** Total time budget while no listener is online. Default 400. */
  noListenerBudgetMs?: number;
  backoff?: BackoffPolicy;
  random?: () => number;
  now?: () => number;
}

const DEFAULT_BACKOFF: BackoffPolicy = { initialMs: 50, maxMs: 1_000 };

/** The retry budget (ms) for this failure, or 0 when retrying cannot help. */
export function retryBudgetMs(err: unknown, opts: DialRetryOptions = {}): number {
  switch (errorCodeOf(err)) {
    case 'ARCPROXY_RELAY_NO_LISTENER':
      return opts.noListenerBudgetMs ?? 400;
    case 'ARCPROXY_RELAY_UNREACHABLE':
    case 'ARCPROXY_RELAY_TIMEOUT':
    case 'ARCPROXY_RELAY_CLOSED':
      return opts.transientBudgetMs ?? 3_000;
    case 'ARCPROXY_RELAY_REJECTED': {
      const status = err instanceof RelayError ? err.httpStatus : undefined;
      return status !== undefined && status >= 500 ? (opts.transientBudgetMs ?? 3_000) : 0;
    }
    default:
      return 0;
  }
}

/** Runs `attempt` until it succeeds, fails for good, its budget is spent or `signal` aborts. */
export async function dialWithRetry<T>(attempt: () => Promise<T>, signal: AbortSignal | undefined, opts: DialRetryOptions = {}): Promise<T> {
  const now = opts.now ?? Date.now;
  const started = now();
  for (let n = 0; ; n++) {
    try {
      return await attempt();
    } catch (err) {
      const left = started + retryBudgetMs(err, opts) - now();
      if (left <= 0 || signal?.aborted) throw err;
      const wait = Math.min(left, backoffDelay(n, opts.backoff ?? DEFAULT_BACKOFF, opts.random));
      await sleep(wait, signal);
      if (signal?.aborted) throw err;
    }
  }
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    timer.unref();
    signal?.addEventListener('abort', done, { once: true });
  });
}
