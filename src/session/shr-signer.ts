/**
 * The bearer value a PoP-enforcing cluster accepts: a signed HTTP request token (SHR) around the
 * current PoP access token, with the cluster's ARM id as `u` (src/azure/pop/shr.ts). A cluster
 * accepts an SHR for 15 minutes after its `ts`, so one SHR serves every request for a while: it is
 * signed again on a timer well inside that window and whenever the access token changes, never
 * per request. The proxy asks `getToken()` on every request; it answers from memory.
 */
import { signShr } from '../azure/pop/shr.js';
import type { PopKey } from '../azure/pop/pop-key.js';

/** Re-sign this often: a third of the 15-minute window a cluster allows (guard's default). */
const SHR_RESIGN_MS = 5 * 60_000;
/** An SHR older than this is never handed out, even if the timer is late (a laptop that slept). */
const SHR_MAX_AGE_MS = 10 * 60_000;

export interface ShrSignerOptions {
  /** The current PoP access token (answered from a cache that refreshes itself). */
  accessToken: () => Promise<string>;
  key: PopKey;
  clusterArmId: string;
  now?: () => number;
  resignMs?: number;
  maxAgeMs?: number;
}

interface Signed {
  value: string;
  accessToken: string;
  signedAtMs: number;
}

export class ShrSigner {
  readonly #opts: ShrSignerOptions;
  readonly #now: () => number;
  #current: Signed | undefined;
  #timer: NodeJS.Timeout | undefined;

  constructor(opts: ShrSignerOptions) {
    this.#opts = opts;
    this.#now = opts.now ?? Date.now;
  }

  /** Signs again every `resignMs` from now on; timers never keep the process alive. */
  start(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => void this.refresh().catch(() => undefined), this.#opts.resignMs ?? SHR_RESIGN_MS);
    this.#timer.unref();
  }

  close(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** The SHR to send now: the cached one while it wraps the current token and is young enough. */
  async getToken(): Promise<string> {
    const accessToken = await this.#opts.accessToken();
    const cur = this.#current;
    if (cur && cur.accessToken === accessToken && this.#now() - cur.signedAtMs < (this.#opts.maxAgeMs ?? SHR_MAX_AGE_MS)) return cur.value;
    return this.#sign(accessToken);
  }

  /** Signs a fresh SHR now (on the timer, and when the access token was refreshed). */
  async refresh(): Promise<void> {
    this.#sign(await this.#opts.accessToken());
  }

  #sign(accessToken: string): string {
    const signedAtMs = this.#now();
    const value = signShr({ accessToken, clusterArmId: this.#opts.clusterArmId, key: this.#opts.key, nowSec: signedAtMs / 1000 });
    this.#current = { value, accessToken, signedAtMs };
    return value;
  }
}
