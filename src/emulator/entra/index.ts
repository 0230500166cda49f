/**
 * The emulated Microsoft Entra ID: an HTTPS identity provider that @azure/identity (MSAL) signs
 * in to with only a cloud profile, and the token verifier the other emulated services use.
 */
import type { JSONWebKeySet } from 'jose';
import type { Seed } from '../seed.js';
import type { AccessTokenClaims } from './claims.js';
import { FEDERATION_AUDIENCE, TokenGrants, federatedSubject } from './grants.js';
import { startHttpsServer } from './http.js';
import { createSigningKey, publicJwks } from './keys.js';
import { handleEntraRequest } from './routes.js';
import { startManagedIdentityEndpoint } from './managed-identity.js';
import { DeviceCodeStore, RefreshTokenStore } from './sessions.js';
import { signJwt, verifyAccessTokenWith } from './signer.js';

export type { AccessTokenClaims } from './claims.js';
export { TokenValidationError, type TokenValidationCode } from './errors.js';

/** What Entra tells device-code clients to wait between polls. */
const DEVICE_CODE_INTERVAL_SECONDS = 5;
/** The Retry-After Entra sends a throttled client-credentials request (MSAL's throttling docs). */
const THROTTLE_RETRY_AFTER_SECONDS = 60;

export interface EntraEmulatorOptions {
  seed: Seed;
  tls: { cert: string; key: string };
  host?: string;
  port?: number;
  /** Port of the managed-identity endpoint (plain HTTP; default: any free port). */
  identityPort?: number;
  now?: () => number;
  /** Polls each new device code answers authorization_pending before it is approved (default 0: the first). */
  deviceCodePendingPolls?: number;
}

export interface EntraEmulator {
  /** https://127.0.0.1:PORT */
  url: string;
  /** `${url}/${tenantId}/v2.0` */
  issuer(tenantId: string): string;
  /** The public keys access tokens are signed with. */
  jwks(): JSONWebKeySet;
  /** Verifies an access token of this tenant for `audience` (one or any of several); throws TokenValidationError. */
  verifyAccessToken(token: string, opts: { audience: string | string[] }): Promise<AccessTokenClaims>;
  /** Lifetime (seconds) of access tokens issued from now on. */
  setTokenLifetime(seconds: number): void;
  /** The next `count` client-credentials token requests are throttled: 429 with Retry-After (default 60 s, Entra's). */
  throttleNext(count: number, retryAfterSeconds?: number): void;
  /** How many polls device codes started from now on answer authorization_pending before approval. */
  setDeviceCodePendingPolls(polls: number): void;
  /**
   * How device codes started from now on are approved: at once ('automatic', the default) or when
   * approveDeviceCode() names the user code ('manual'); and the poll interval Entra tells clients.
   */
  setDeviceCodeApproval(approval: 'automatic' | 'manual', intervalSeconds?: number): void;
  /** Approves the pending sign-in whose user code this is, as its user would in a browser; false when there is none. */
  approveDeviceCode(userCode: string): boolean;
  /** The host identity endpoint for the seed's managed identities: IDENTITY_ENDPOINT and IDENTITY_HEADER (App Service). */
  managedIdentity: { endpoint: string; header: string };
  /** A workload-identity federation token (aud api://AzureADTokenExchange) the token endpoint accepts for `clientId`. */
  mintFederatedToken(clientId: string, lifetimeSeconds?: number): Promise<string>;
  close(): Promise<void>;
}

export async function createEntraEmulator(opts: EntraEmulatorOptions): Promise<EntraEmulator> {
  const now = opts.now ?? Date.now;
  const [signingKey, federationKey] = await Promise.all([createSigningKey(), createSigningKey()]);
  let lifetimeSeconds = opts.seed.tokenLifetimeSeconds;
  let pendingPolls = checkedPolls(opts.deviceCodePendingPolls ?? 0);
  let manualApproval = false;
  let deviceCodeIntervalSeconds = DEVICE_CODE_INTERVAL_SECONDS;
  let throttles = 0;
  let throttleSeconds = THROTTLE_RETRY_AFTER_SECONDS;
  const takeThrottle = (): number | undefined => {
    if (throttles <= 0) return undefined;
    throttles -= 1;
    return throttleSeconds;
  };
  const grants = new TokenGrants({
    seed: opts.seed,
    signingKey,
    federationKey,
    deviceCodes: new DeviceCodeStore(),
    refreshTokens: new RefreshTokenStore(),
    nowMs: now,
    lifetimeSeconds: () => lifetimeSeconds,
    deviceCodePendingPolls: () => pendingPolls,
    deviceCodeManualApproval: () => manualApproval,
  });
  let baseUrl = '';
  const federationIssuer = () => `${baseUrl}/federation`;
  const jwks = () => publicJwks([signingKey]);
  const server = await startHttpsServer(opts.tls, opts.host ?? '127.0.0.1', opts.port ?? 0, (req, res) =>
    handleEntraRequest(
      { seed: opts.seed, grants, baseUrl, jwks, federationIssuer, nowMs: now, deviceCodeIntervalSeconds: () => deviceCodeIntervalSeconds, takeThrottle },
      req,
      res,
    ),
  );
  baseUrl = server.url;
  let identity;
  try {
    identity = await startManagedIdentityEndpoint({
      seed: opts.seed,
      signingKey,
      issuer: () => `${server.url}/${opts.seed.tenantId}/v2.0`,
      nowMs: now,
      lifetimeSeconds: () => lifetimeSeconds,
      host: opts.host ?? '127.0.0.1',
      port: opts.identityPort ?? 0,
    });
  } catch (err) {
    await server.close();
    throw err;
  }

  return {
    url: server.url,
    issuer: (tenantId) => `${server.url}/${tenantId}/v2.0`,
    jwks,
    verifyAccessToken: (token, { audience }) => verifyAccessTokenWith([signingKey], token, { audience, nowMs: now() }),
    setTokenLifetime(seconds) {
      if (!Number.isFinite(seconds) || seconds <= 0) throw new RangeError('Token lifetime must be a positive number of seconds.');
      lifetimeSeconds = Math.floor(seconds);
    },
    throttleNext(count, retryAfterSeconds = THROTTLE_RETRY_AFTER_SECONDS) {
      if (!Number.isSafeInteger(count) || count < 0) throw new RangeError('throttleNext needs a whole number of requests.');
      if (!Number.isSafeInteger(retryAfterSeconds) || retryAfterSeconds < 0) throw new RangeError('Retry-After must be a whole number of seconds.');
      throttles = count;
      throttleSeconds = retryAfterSeconds;
    },
    setDeviceCodePendingPolls(polls) {
      pendingPolls = checkedPolls(polls);
    },
    setDeviceCodeApproval(approval, intervalSeconds = DEVICE_CODE_INTERVAL_SECONDS) {
      if (!Number.isSafeInteger(intervalSeconds) || intervalSeconds < 1)
        throw new RangeError('The device-code interval must be a whole number of seconds, 1 or more.');
      manualApproval = approval === 'manual';
      deviceCodeIntervalSeconds = intervalSeconds;
    },
    approveDeviceCode: (userCode) => grants.approveDeviceCode(userCode),
    async mintFederatedToken(clientId, lifetime = 600) {
      const iat = Math.floor(now() / 1000);
      return signJwt(federationKey, {
        iss: federationIssuer(),
        sub: federatedSubject(clientId),
        aud: FEDERATION_AUDIENCE,
        iat,
        nbf: iat,
        exp: iat + lifetime,
      });
    },
    managedIdentity: { endpoint: identity.url, header: identity.header },
    close: async () => {
      await Promise.all([server.close(), identity.close()]);
    },
  };
}

function checkedPolls(polls: number): number {
  if (!Number.isSafeInteger(polls) || polls < 0) throw new RangeError('Device-code pending polls must be a whole number, 0 or more.');
  return polls;
}
