/**
 * A current Entra access token for one scope, fetched ahead of expiry so that requests never
 * wait on a sign-in round trip: the proxy asks for a token on every request, this answers from
 * memory. Once started, a timer refreshes the token before it nears its end (5 minutes, or a
 * third of a short lifetime), retrying with backoff when Entra fails; a request that still finds
 * the token inside the margin (the timer is late, or not started) triggers a refresh itself.
 */
import type { TokenCredential } from '@azure/identity';
import type { BackoffPolicy } from '../tunnel/backoff.js';
import { RefreshScheduler, refreshMarginMs } from '../tunnel/refresh-scheduler.js';

export interface CachedToken {
  token: string;
  expiresOnMs: number;
}

export interface EntraTokenSourceOptions {
  now?: () => number;
  /** A token replaced an earlier one (not called for the first token). Never log `token`. */
  onRefresh?: (t: CachedToken) => void;
  /** A background refresh failed; the next attempt follows after `retryInMs`. */
  onRefreshError?: (err: unknown, retryInMs: number) => void;
  retry?: BackoffPolicy;
  random?: () => number;
}

export class EntraTokenSource {
  readonly #credential: TokenCredential;
  readonly #scope: string;
  readonly #now: () => number;
  readonly #opts: EntraTokenSourceOptions;
  readonly #scheduler: RefreshScheduler;
  #current: CachedToken | undefined;
  #issuedAtMs = 0;
  #inflight: Promise<CachedToken> | undefined;

  constructor(credential: TokenCredential, scope: string, opts: EntraTokenSourceOptions = {}) {
    this.#credential = credential;
    this.#scope = scope;
    this.#now = opts.now ?? Date.now;
    this.#opts = opts;
    this.#scheduler = new RefreshScheduler({
      dueAt: () => this.refreshDueAtMs,
      refresh: () => this.refresh(),
      now: this.#now,
      ...(opts.onRefreshError ? { onError: opts.onRefreshError } : {}),
      ...(opts.retry ? { retry: opts.retry } : {}),
      ...(opts.random ? { random: opts.random } : {}),
    });
  }

  /** When the current token should be replaced (undefined before the first token). */
  get refreshDueAtMs(): number | undefined {
    const cur = this.#current;
    return cur ? cur.expiresOnMs - refreshMarginMs(cur.expiresOnMs - this.#issuedAtMs) : undefined;
  }

  /** Starts refreshing in the background (fetching a first token if there is none). */
  start(): void {
    this.#scheduler.start();
  }

  /** Stops the background refresh; getToken() still works on demand. */
  close(): void {
    this.#scheduler.stop();
  }

  /** Returns a token that is valid now; refreshes first when it is inside the margin. */
  async getToken(): Promise<string> {
    const cur = this.#current;
    const now = this.#now();
    const due = this.refreshDueAtMs;
    if (cur && due !== undefined && now < due) return cur.token;
    if (cur && now < cur.expiresOnMs - 5_000) {
      // Still valid: refresh in the background and answer at once.
      void this.refresh().catch(() => undefined);
      return cur.token;
    }
    return (await this.refresh()).token;
  }

  refresh(): Promise<CachedToken> {
    if (!this.#inflight) {
      this.#inflight = (async () => {
        try {
          const issuedAt = this.#now();
          const t = await this.#credential.getToken(this.#scope);
          if (!t) throw new Error('the credential returned no token');
          const cached = { token: t.token, expiresOnMs: t.expiresOnTimestamp };
          const replaced = this.#current !== undefined;
          this.#current = cached;
          this.#issuedAtMs = issuedAt;
          if (replaced) this.#opts.onRefresh?.(cached);
          return cached;
        } finally {
          this.#inflight = undefined;
        }
      })();
    }
    return this.#inflight;
  }

  get expiresOnMs(): number | undefined {
    return this.#current?.expiresOnMs;
  }
}
