/**
 * A current Entra access token for one scope, fetched ahead of expiry so that requests never
 * wait on a sign-in round trip: the proxy asks for a token on every request, this answers from
 * memory and refreshes in the background when the token nears its end.
 */
import type { TokenCredential } from '@azure/identity';

export interface CachedToken {
  token: string;
  expiresOnMs: number;
}

/** How long before expiry to refresh: 5 minutes, or a third of a short lifetime. */
export function refreshMarginMs(lifetimeMs: number): number {
  return Math.min(5 * 60_000, Math.max(1_000, Math.floor(lifetimeMs / 3)));
}

export class EntraTokenSource {
  readonly #credential: TokenCredential;
  readonly #scope: string;
  readonly #now: () => number;
  #current: CachedToken | undefined;
  #issuedAtMs = 0;
  #inflight: Promise<CachedToken> | undefined;
  #onRefresh: ((t: CachedToken) => void) | undefined;

  constructor(credential: TokenCredential, scope: string, opts: { now?: () => number; onRefresh?: (t: CachedToken) => void } = {}) {
    this.#credential = credential;
    this.#scope = scope;
    this.#now = opts.now ?? Date.now;
    this.#onRefresh = opts.onRefresh;
  }

  /** Returns a token that is valid now; refreshes first when it is inside the margin. */
  async getToken(): Promise<string> {
    const cur = this.#current;
    const now = this.#now();
    if (cur && now < cur.expiresOnMs - refreshMarginMs(cur.expiresOnMs - this.#issuedAtMs)) return cur.token;
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
          this.#current = cached;
          this.#issuedAtMs = issuedAt;
          this.#onRefresh?.(cached);
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
