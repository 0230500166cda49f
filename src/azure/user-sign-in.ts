/**
 * One user's sign-in, shared by every token a session asks for: ARM's and the cluster's
 * (PoP-bound or not) all come from one refresh token, so a device-code sign-in asks the user
 * once. The refresh token comes from a device-code sign-in (then saved in arcproxy's token cache,
 * token-cache.ts, and taken from there on the next run) or from the Azure CLI's login (kept in
 * memory only: arcproxy never writes az's files).
 *
 * CAE: arcproxy declares no client capabilities (no `xms_cc` claims request) for any token, so
 * ARM's and the cluster's tokens are asked for alike and never diverge into two sign-ins; the
 * ARM client's `enableCae` option is not passed on.
 */
import type { CloudProfile } from '../net/cloud-profile.js';
import { EntraTokenError, pollDeviceCode, requestToken, startDeviceCode, type PopRequest, type TokenResult } from './pop/token-request.js';
import { withTokenRetries } from './pop/token-retry.js';
import { signInKey, type TokenCacheFile } from './token-cache.js';
import { AuthError } from './auth-error.js';

/** No refresh token to sign in with, and this sign-in may not ask the user for one. */
export class NoSavedSignInError extends AuthError {
  constructor() {
    super('ARCPROXY_NO_CREDENTIAL', "No sign-in is saved in arcproxy's token cache.");
    this.name = 'NoSavedSignInError';
  }
}

export interface UserSignInOptions {
  cloud: CloudProfile;
  /** The authority's tenant: an id, a domain or `organizations`. */
  tenantId: string;
  /** The public client the refresh token belongs to (the Azure CLI's). */
  clientId: string;
  /** A refresh token to start from (az's login). Never persisted. */
  refreshToken?: string;
  /** Where the sign-in is saved and found again; undefined: nowhere (az's login is never saved). */
  cache?: TokenCacheFile | undefined;
  /** Shows device-code instructions; undefined: this sign-in may not prompt (az's login, no terminal). */
  prompt?: ((message: string) => void) | undefined;
}

export class UserSignIn {
  readonly #opts: UserSignInOptions;
  readonly #key: string;
  #refreshToken: string | undefined;
  #cacheRead = false;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(opts: UserSignInOptions) {
    this.#opts = opts;
    this.#refreshToken = opts.refreshToken;
    this.#key = signInKey(opts.cloud.authorityHost, opts.tenantId, opts.clientId);
  }

  /** An access token for `scope`, bound to `pop` when given. Signs in (device code) only when no refresh token works. */
  token(scope: string, pop?: PopRequest): Promise<TokenResult> {
    // One request at a time: ARM's and the cluster's first tokens, asked for together, share one sign-in.
    const run = this.#queue.then(() => this.#token(scope, pop));
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #token(scope: string, pop: PopRequest | undefined): Promise<TokenResult> {
    const endpoint = { cloud: this.#opts.cloud, tenantId: this.#opts.tenantId };
    const cache = this.#opts.cache;
    if (this.#refreshToken === undefined && cache && !this.#cacheRead) {
      this.#cacheRead = true;
      this.#refreshToken = (await cache.get(this.#key))?.refreshToken;
    }
    if (this.#refreshToken !== undefined) {
      try {
        const grant = { kind: 'refresh_token', clientId: this.#opts.clientId, refreshToken: this.#refreshToken } as const;
        // Retried as ARM's token requests are (a 5xx or a dropped connection is not a lost sign-in).
        const result = await withTokenRetries(() => requestToken(endpoint, grant, scope, { pop }));
        await this.#keep(result);
        return result;
      } catch (err) {
        // An expired or revoked sign-in: forget it, and sign in again where this sign-in may prompt.
        if (!(err instanceof EntraTokenError) || err.oauthError !== 'invalid_grant' || !cache) throw err;
        this.#refreshToken = undefined;
        await cache.set(this.#key, undefined);
      }
    }
    const prompt = this.#opts.prompt;
    if (!prompt) throw new NoSavedSignInError();
    const started = await startDeviceCode(endpoint, this.#opts.clientId, scope);
    prompt(started.message);
    const result = await pollDeviceCode(endpoint, this.#opts.clientId, started.deviceCode, scope, {
      pop,
      intervalSec: started.intervalSec,
      expiresInSec: started.expiresInSec,
    });
    await this.#keep(result);
    return result;
  }

  /** Keeps the newest refresh token (Entra may rotate it), and saves it where device-code sign-ins are saved. */
  async #keep(result: TokenResult): Promise<void> {
    if (!result.refreshToken || result.refreshToken === this.#refreshToken) return;
    this.#refreshToken = result.refreshToken;
    if (!this.#opts.cache) return;
    const username = result.idTokenClaims?.preferred_username;
    await this.#opts.cache.set(this.#key, {
      refreshToken: result.refreshToken,
      ...(typeof username === 'string' ? { username } : {}),
      ...(result.clientInfo ? { homeAccountId: `${result.clientInfo.uid}.${result.clientInfo.utid}` } : {}),
    });
  }
}
