/**
 * The token endpoint's grants: client credentials (secret, certificate assertion or federated
 * assertion), device code (auto-approved as the seed's first user) and refresh token, each
 * issuing a Bearer token or, asked with token_type=pop and req_cnf, one bound to the client's key
 * (pop.ts). Pure request-in, response-out: the HTTP layer only parses the form and writes the answer.
 */
import { timingSafeEqual } from 'node:crypto';
import type { Seed, SeedPrincipal } from '../seed.js';
import { accessTokenClaims, clientInfo, idTokenClaims } from './claims.js';
import { isSelfIssuedAssertion, verifyCertificateAssertion } from './client-certificate.js';
import { TokenValidationError, oauthErrors } from './errors.js';
import type { SigningKey } from './keys.js';
import { requestedPopConfirmation, type PopConfirmation } from './pop.js';
import { type DeviceCodeStore, type RefreshTokenStore } from './sessions.js';
import { audienceForRequest, resourceScopes } from './scopes.js';
import { signJwt, verifyJwt } from './signer.js';

export const CLIENT_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const DEVICE_CODE_GRANT_TYPES = new Set(['device_code', 'urn:ietf:params:oauth:grant-type:device_code']);
/** The audience workload-identity federation tokens are minted for (GitHub, AKS and others). */
export const FEDERATION_AUDIENCE = 'api://AzureADTokenExchange';

export interface TokenResponse {
  /** "pop" when the access token is bound to the client's key (it then carries `cnf`). */
  token_type: 'Bearer' | 'pop';
  expires_in: number;
  ext_expires_in: number;
  access_token: string;
  scope?: string;
  refresh_token?: string;
  id_token?: string;
  client_info?: string;
}

export interface GrantEnvironment {
  seed: Seed;
  signingKey: SigningKey;
  federationKey: SigningKey;
  deviceCodes: DeviceCodeStore;
  refreshTokens: RefreshTokenStore;
  nowMs: () => number;
  lifetimeSeconds: () => number;
  /** Polls a new device code answers authorization_pending before it is approved (default 0). */
  deviceCodePendingPolls?: () => number;
  /** New device codes wait for approveDeviceCode() instead of being approved by themselves. */
  deviceCodeManualApproval?: () => boolean;
}

export interface TokenRequestContext {
  tenantId: string;
  /** `${origin}/${tenantId}/v2.0` as the client reached us. */
  issuer: string;
  /** The issuer federation assertions must carry. */
  federationIssuer: string;
  /** The URLs of this token endpoint (as the client reached it): what a certificate assertion's `aud` must name. */
  tokenEndpoints: readonly string[];
}

/** The sign-in subject of a federated token for a client: what `mintFederatedToken` puts in `sub`. */
export function federatedSubject(clientId: string): string {
  return `arcproxy-emulator:workload:${clientId.toLowerCase()}`;
}

function required(params: URLSearchParams, name: string): string {
  const v = params.get(name);
  if (!v) throw oauthErrors.missingParameter(name);
  return v;
}

function secretsMatch(expected: string, given: string): boolean {
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Azure CLI's first-party application: present in every tenant, a public client (device code allowed). */
const AZURE_CLI_APP_ID = '04b07795-8ddb-461a-bbee-02f9e1bf7b46';

/**
 * Who may start a device-code sign-in: Azure CLI's application (the one arcproxy and az use) or an
 * application registered in the seed. Assumption: a seeded application allows public client flows
 * (Entra refuses them with AADSTS7000218 unless the registration says so; the seed has no such field).
 */
function isKnownPublicClient(seed: Seed, clientId: string): boolean {
  return clientId.toLowerCase() === AZURE_CLI_APP_ID || findServicePrincipal(seed, clientId) !== undefined;
}

function findServicePrincipal(seed: Seed, clientId: string): SeedPrincipal | undefined {
  return seed.principals.find((p) => p.kind === 'servicePrincipal' && p.clientId?.toLowerCase() === clientId.toLowerCase());
}

/** Entra hands out a refresh token only to a sign-in that asked for offline_access. */
function asksForRefreshToken(scope: string): boolean {
  return scope.split(/\s+/).some((s) => s.toLowerCase() === 'offline_access');
}

/** The user a device-code sign-in approves: the seed's first user. */
function deviceCodeUser(seed: Seed): SeedPrincipal | undefined {
  return seed.principals.find((p) => p.kind === 'user');
}

export class TokenGrants {
  readonly #env: GrantEnvironment;

  constructor(env: GrantEnvironment) {
    this.#env = env;
  }

  #nowSeconds(): number {
    return Math.floor(this.#env.nowMs() / 1000);
  }

  async handle(params: URLSearchParams, ctx: TokenRequestContext): Promise<TokenResponse> {
    const grantType = required(params, 'grant_type');
    const isDeviceCode = DEVICE_CODE_GRANT_TYPES.has(grantType);
    if (grantType !== 'client_credentials' && grantType !== 'refresh_token' && !isDeviceCode) throw oauthErrors.unsupportedGrant(grantType);
    // Every grant may ask for a PoP-bound token; a bad request for one fails before anything else.
    const cnf = requestedPopConfirmation(params);
    if (grantType === 'client_credentials') return this.#clientCredentials(params, ctx, cnf);
    if (isDeviceCode) return this.#deviceCode(params, ctx, cnf);
    return this.#refreshToken(params, ctx, cnf);
  }

  /** The user approved the sign-in with this code (the device-login page); false for an unknown or expired code. */
  approveDeviceCode(userCode: string): boolean {
    return this.#env.deviceCodes.approve(userCode, this.#nowSeconds());
  }

  /** Starts a device-code sign-in; the code is approved when first redeemed, or after the configured pending polls, or by approveDeviceCode(). */
  startDeviceCode(params: URLSearchParams, tenantId: string): { deviceCode: string; userCode: string; expiresIn: number } {
    const clientId = required(params, 'client_id');
    // Entra answers AADSTS700016 for an application the tenant does not know, before any code is issued.
    if (!isKnownPublicClient(this.#env.seed, clientId)) throw oauthErrors.applicationNotFound(clientId, tenantId);
    const scope = required(params, 'scope');
    if (!audienceForRequest(scope)) throw oauthErrors.invalidScope(scope);
    const now = this.#nowSeconds();
    const { deviceCode, grant } = this.#env.deviceCodes.create(
      clientId,
      tenantId,
      scope,
      now,
      this.#env.deviceCodePendingPolls?.() ?? 0,
      this.#env.deviceCodeManualApproval?.() ?? false,
    );
    return { deviceCode, userCode: grant.userCode, expiresIn: grant.expiresAt - now };
  }

  async #clientCredentials(params: URLSearchParams, ctx: TokenRequestContext, cnf: PopConfirmation | undefined): Promise<TokenResponse> {
    const clientId = required(params, 'client_id');
    const scope = required(params, 'scope');
    const principal = findServicePrincipal(this.#env.seed, clientId);
    if (!principal) throw oauthErrors.applicationNotFound(clientId, ctx.tenantId);
    await this.#authenticateClient(principal, clientId, params, ctx);
    // client_credentials only takes "resource/.default".
    const resources = resourceScopes(scope);
    const audience = audienceForRequest(scope);
    if (!audience || resources.length !== 1 || !resources[0]!.endsWith('/.default')) throw oauthErrors.invalidScope(scope);
    return this.#accessTokenResponse(principal, clientId, audience, ctx, cnf);
  }

  async #authenticateClient(principal: SeedPrincipal, clientId: string, params: URLSearchParams, ctx: TokenRequestContext): Promise<void> {
    const secret = params.get('client_secret');
    const assertion = params.get('client_assertion');
    if (secret !== null) {
      if (!principal.clientSecret || !secretsMatch(principal.clientSecret, secret)) throw oauthErrors.invalidClientSecret(clientId);
      return;
    }
    if (assertion !== null) {
      if (params.get('client_assertion_type') !== CLIENT_ASSERTION_TYPE) throw oauthErrors.badAssertionType();
      // A certificate assertion is issued by the client itself (iss = sub = client id); anything
      // else is a token from a federated issuer (workload identity).
      if (isSelfIssuedAssertion(assertion)) {
        await verifyCertificateAssertion(assertion, principal, { clientId, tokenEndpoints: ctx.tokenEndpoints, nowMs: this.#env.nowMs() });
      } else {
        await this.#verifyFederatedAssertion(assertion, clientId, ctx);
      }
      return;
    }
    throw oauthErrors.missingCredential();
  }

  /** Accepts a token the emulator's federation issuer minted for this client (workload identity). */
  async #verifyFederatedAssertion(assertion: string, clientId: string, ctx: TokenRequestContext): Promise<void> {
    let payload;
    try {
      payload = await verifyJwt([this.#env.federationKey], assertion, { audience: FEDERATION_AUDIENCE, nowMs: this.#env.nowMs() });
    } catch (err) {
      const code = err instanceof TokenValidationError ? err.code : 'MALFORMED';
      if (code === 'EXPIRED' || code === 'NOT_YET_VALID') throw oauthErrors.assertionExpired();
      throw oauthErrors.assertionNotTrusted(`The assertion could not be validated (${code}).`);
    }
    if (payload.iss !== ctx.federationIssuer) {
      throw oauthErrors.assertionNotTrusted(`Assertion issuer: '${String(payload.iss)}'.`);
    }
    if (payload.sub !== federatedSubject(clientId)) {
      throw oauthErrors.assertionNotTrusted(`Assertion subject: '${String(payload.sub)}'.`);
    }
  }

  async #deviceCode(params: URLSearchParams, ctx: TokenRequestContext, cnf: PopConfirmation | undefined): Promise<TokenResponse> {
    const code = params.get('device_code') ?? params.get('code');
    if (!code) throw oauthErrors.missingParameter('device_code');
    const grant = this.#env.deviceCodes.redeem(code, params.get('client_id') ?? '', this.#nowSeconds());
    if (grant === 'expired') throw oauthErrors.expiredDeviceCode();
    if (grant === 'pending') throw oauthErrors.authorizationPending();
    if (!grant) throw oauthErrors.badDeviceCode();
    const user = deviceCodeUser(this.#env.seed);
    if (!user) throw oauthErrors.badDeviceCode();
    // The scope is the one the sign-in started with: Entra ignores a scope sent with the poll.
    return this.#userTokenResponse(user, grant.clientId, grant.scope, ctx, cnf, { refreshToken: asksForRefreshToken(grant.scope) });
  }

  /**
   * A refresh token is redeemed for any resource's scope by the client it was issued to (one
   * refresh token serves every resource, as Entra's v2 endpoint does), e.g. a sign-in for ARM, then
   * a token for the Arc server app.
   */
  async #refreshToken(params: URLSearchParams, ctx: TokenRequestContext, cnf: PopConfirmation | undefined): Promise<TokenResponse> {
    const token = required(params, 'refresh_token');
    const clientId = required(params, 'client_id');
    const scope = required(params, 'scope');
    const grant = this.#env.refreshTokens.lookup(token, clientId, this.#nowSeconds());
    if (!grant || grant.tenantId !== ctx.tenantId) throw oauthErrors.badRefreshToken();
    const user = this.#env.seed.principals.find((p) => p.objectId === grant.objectId);
    if (!user) throw oauthErrors.badRefreshToken();
    // The grant behind a refresh token already holds offline_access: a new one comes back each time.
    return this.#userTokenResponse(user, clientId, scope, ctx, cnf, { refreshToken: true });
  }

  async #accessTokenResponse(
    principal: SeedPrincipal,
    clientId: string,
    audience: string,
    ctx: TokenRequestContext,
    cnf: PopConfirmation | undefined,
  ): Promise<TokenResponse> {
    const lifetime = this.#env.lifetimeSeconds();
    const claims = accessTokenClaims(principal, {
      issuer: ctx.issuer,
      tenantId: ctx.tenantId,
      audience,
      clientId,
      nowSeconds: this.#nowSeconds(),
      lifetimeSeconds: lifetime,
      ...(cnf ? { cnf } : {}),
    });
    const accessToken = await signJwt(this.#env.signingKey, claims);
    return { token_type: cnf ? 'pop' : 'Bearer', expires_in: lifetime, ext_expires_in: lifetime, access_token: accessToken };
  }

  async #userTokenResponse(
    user: SeedPrincipal,
    clientId: string,
    scope: string,
    ctx: TokenRequestContext,
    cnf: PopConfirmation | undefined,
    opts: { refreshToken: boolean },
  ): Promise<TokenResponse> {
    const audience = audienceForRequest(scope);
    if (!audience) throw oauthErrors.invalidScope(scope);
    const response = await this.#accessTokenResponse(user, clientId, audience, ctx, cnf);
    const idToken = await signJwt(
      this.#env.signingKey,
      idTokenClaims(user, { issuer: ctx.issuer, tenantId: ctx.tenantId, clientId, nowSeconds: this.#nowSeconds(), lifetimeSeconds: 3600 }),
    );
    const granted = resourceScopes(scope);
    return {
      ...response,
      ...(granted.length > 0 ? { scope: granted.join(' ') } : {}),
      ...(opts.refreshToken ? { refresh_token: this.#env.refreshTokens.issue(user.objectId, clientId, ctx.tenantId, this.#nowSeconds()) } : {}),
      id_token: idToken,
      client_info: clientInfo(user, ctx.tenantId),
    };
  }
}
