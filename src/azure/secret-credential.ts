/**
 * The environment service principal's client secret (AZURE_CLIENT_SECRET) as a TokenCredential,
 * made with arcproxy's own token request (pop/token-request.ts) instead of @azure/identity's
 * ClientSecretCredential. Why: this is the sign-in of CI and of the emulator, and through the SDK
 * it costs launch time before any token is asked for — loading @azure/identity and MSAL, then
 * MSAL's request for the authority's metadata — while the request itself is one form POST.
 * Like MSAL, it keeps each scope's token until 5 minutes before it expires, and a claims
 * challenge (continuous access evaluation) asks for a new one carrying the claims. Like the SDK's
 * pipeline it came through, it retries a request that failed on the way (connection failures,
 * 408, 429 and 5xx but 501 and 505) three times, about 1, 2 and 4 seconds apart, or after the
 * wait Entra asked for (Retry-After) when it asked for one.
 */
import type { AccessToken, GetTokenOptions, TokenCredential } from '@azure/identity';
import type { CloudProfile } from '../net/cloud-profile.js';
import { abortableSleep, EntraTokenError, requestToken, type TokenResult } from './pop/token-request.js';

/** MSAL's default: a cached token is used until this long before it expires. */
const RENEW_BEFORE_EXPIRY_MS = 5 * 60_000;

/** The SDK's default retry policy: 3 retries, exponential from about a second. */
const RETRY_DELAYS_MS = [1000, 2000, 4000];

/** A throttled sign-in waits at most this long for Entra; a longer Retry-After fails at once, saying so. */
const MAX_RETRY_AFTER_MS = 60_000;

const CONNECTION_FAILURES = new Set(['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN']);

/** Worth another try: Entra was not reached, or answered that it could not answer now. */
function retriable(err: unknown): boolean {
  if (!(err instanceof EntraTokenError)) return false;
  if (err.status === undefined) {
    const code = (err.cause as { code?: unknown } | undefined)?.code;
    return typeof code === 'string' && CONNECTION_FAILURES.has(code);
  }
  return err.status === 408 || err.status === 429 || (err.status >= 500 && err.status !== 501 && err.status !== 505);
}

export interface ClientSecretOptions {
  cloud: CloudProfile;
  tenantId: string;
  clientId: string;
  clientSecret: string;
  /** Milliseconds since the epoch; injected by tests. */
  now?: () => number;
  /** Waits between retries; injected by tests. */
  sleep?: (ms: number, signal: AbortSignal | undefined) => Promise<void>;
  /** Told when Entra asked for a wait before the next try, and how long: a minute of silence looks like a hang. */
  onThrottled?: (message: string) => void;
}

export class ClientSecretTokenCredential implements TokenCredential {
  readonly #opts: ClientSecretOptions;
  readonly #cache = new Map<string, AccessToken>();

  constructor(opts: ClientSecretOptions) {
    this.#opts = opts;
  }

  async getToken(scopes: string | string[], options?: GetTokenOptions): Promise<AccessToken> {
    const { cloud, tenantId, clientId, clientSecret } = this.#opts;
    const now = this.#opts.now ?? Date.now;
    const scope = Array.isArray(scopes) ? scopes.join(' ') : scopes;
    const claims = options?.claims;
    const cached = this.#cache.get(scope);
    if (!claims && cached && cached.expiresOnTimestamp - RENEW_BEFORE_EXPIRY_MS > now()) return cached;
    const signal = options?.abortSignal instanceof AbortSignal ? options.abortSignal : undefined;
    const ask = () =>
      requestToken({ cloud, tenantId }, { kind: 'client_secret', clientId, clientSecret }, scope, { signal, now, ...(claims ? { claims } : {}) });
    const sleep = this.#opts.sleep ?? abortableSleep;
    let result: TokenResult;
    for (let attempt = 0; ; attempt++) {
      try {
        result = await ask();
        break;
      } catch (err) {
        const backoff = RETRY_DELAYS_MS[attempt];
        if (backoff === undefined || !retriable(err)) throw err;
        await sleep(this.#waitBeforeRetry(err as EntraTokenError, backoff), signal);
      }
    }
    const token: AccessToken = { token: result.accessToken, expiresOnTimestamp: result.expiresOnMs, tokenType: 'Bearer' };
    this.#cache.set(scope, token);
    return token;
  }

  /** Entra's own Retry-After when it sent one (as the SDK's throttling policy), else the backoff. */
  #waitBeforeRetry(err: EntraTokenError, backoffMs: number): number {
    const asked = err.retryAfterMs;
    if (asked === undefined) return backoffMs;
    if (asked > MAX_RETRY_AFTER_MS) {
      throw new EntraTokenError(
        `${err.message} Microsoft Entra ID asks to wait ${Math.ceil(asked / 1000)} s before the next token request: too long to wait here. Entra throttles a client that asks for tokens too often: try again after that.`,
        {
          ...(err.status === undefined ? {} : { status: err.status }),
          ...(err.oauthError === undefined ? {} : { oauthError: err.oauthError }),
          retryAfterMs: asked,
          cause: err,
        },
      );
    }
    this.#opts.onThrottled?.(
      `Microsoft Entra ID asks arcproxy to wait ${Math.ceil(asked / 1000)} s before its next token request (HTTP ${err.status}); waiting, then trying again.`,
    );
    return asked;
  }
}
