/**
 * The environment service principal's client secret (AZURE_CLIENT_SECRET) as a TokenCredential,
 * made with arcproxy's own token request (pop/token-request.ts) instead of @azure/identity's
 * ClientSecretCredential. Why: this is the sign-in of CI and of the emulator, and through the SDK
 * it costs launch time before any token is asked for — loading @azure/identity and MSAL, then
 * MSAL's request for the authority's metadata — while the request itself is one form POST.
 * Like MSAL, it keeps each scope's token until 5 minutes before it expires, and a claims
 * challenge (continuous access evaluation) asks for a new one carrying the claims. Failed requests
 * are retried as the SDK's pipeline it came through retried them (pop/token-retry.ts).
 */
import type { AccessToken, GetTokenOptions, TokenCredential } from '@azure/identity';
import type { CloudProfile } from '../net/cloud-profile.js';
import { requestToken } from './pop/token-request.js';
import { withTokenRetries } from './pop/token-retry.js';

/** MSAL's default: a cached token is used until this long before it expires. */
const RENEW_BEFORE_EXPIRY_MS = 5 * 60_000;

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
    const result = await withTokenRetries(ask, { signal, sleep: this.#opts.sleep, onThrottled: this.#opts.onThrottled });
    const token: AccessToken = { token: result.accessToken, expiresOnTimestamp: result.expiresOnMs, tokenType: 'Bearer' };
    this.#cache.set(scope, token);
    return token;
  }
}
