/**
 * The sign-in source arcproxy used for ARM, as a source of proof-of-possession tokens for the Arc
 * server application, or why it cannot be one. @azure/identity and MSAL for Node cannot ask
 * Entra for a PoP-bound token for these grants, so arcproxy makes the token request itself
 * (token-request.ts) with the same secret, certificate, federated assertion or refresh token.
 */
import type { AccessToken, TokenCredential } from '@azure/identity';
import { readFile } from 'node:fs/promises';
import type { CloudProfile } from '../../net/cloud-profile.js';
import { readAzCliLogin } from '../az-cache.js';
import { AZURE_CLI_CLIENT_ID, type CredentialKind } from '../credentials.js';
import { reqCnf, type PopKey } from './pop-key.js';
import { requestToken, type TokenGrant } from './token-request.js';

/** Where PoP-bound tokens come from, or why the signed-in source cannot give them. */
export type PopSource = { credential: TokenCredential } | { unavailable: string };

export interface PopSourceContext {
  env: NodeJS.ProcessEnv;
  homeDir: string;
  cloud: CloudProfile;
  /** The subscription the session uses (which of az's logins to take). */
  subscriptionId: string;
}

/** A TokenCredential whose tokens Entra bound to `key` (token_type=pop, cnf.kid = the key's thumbprint). */
class PopCredential implements TokenCredential {
  readonly #endpoint: { cloud: CloudProfile; tenantId: string };
  #grant: TokenGrant;
  readonly #key: PopKey;

  constructor(endpoint: { cloud: CloudProfile; tenantId: string }, grant: TokenGrant, key: PopKey) {
    this.#endpoint = endpoint;
    this.#grant = grant;
    this.#key = key;
  }

  async getToken(scopes: string | string[]): Promise<AccessToken> {
    const scope = Array.isArray(scopes) ? scopes.join(' ') : scopes;
    const result = await requestToken(this.#endpoint, this.#grant, scope, { pop: { reqCnf: reqCnf(this.#key.kid), kid: this.#key.kid } });
    // Entra may hand out a new refresh token with each use; the newest is kept in memory only.
    if (this.#grant.kind === 'refresh_token' && result.refreshToken) this.#grant = { ...this.#grant, refreshToken: result.refreshToken };
    return { token: result.accessToken, expiresOnTimestamp: result.expiresOnMs };
  }
}

export async function popSourceFor(kind: CredentialKind | undefined, ctx: PopSourceContext, key: PopKey): Promise<PopSource> {
  const { env, cloud } = ctx;
  const tenantId = env.AZURE_TENANT_ID ?? '';
  const clientId = env.AZURE_CLIENT_ID ?? '';
  const make = (grant: TokenGrant, tenant = tenantId): PopSource => ({ credential: new PopCredential({ cloud, tenantId: tenant }, grant, key) });
  switch (kind) {
    case 'environment-secret':
      return make({ kind: 'client_secret', clientId, clientSecret: env.AZURE_CLIENT_SECRET ?? '' });
    case 'environment-certificate': {
      const path = env.AZURE_CLIENT_CERTIFICATE_PATH ?? '';
      let certificatePem: string;
      try {
        certificatePem = await readFile(path, 'utf8');
      } catch (err) {
        return { unavailable: `the certificate file ${path} could not be read (${(err as NodeJS.ErrnoException).code ?? 'error'}).` };
      }
      const password = env.AZURE_CLIENT_CERTIFICATE_PASSWORD;
      return make({ kind: 'client_certificate', clientId, certificatePem, ...(password ? { password } : {}) });
    }
    case 'workload-identity': {
      const file = env.AZURE_FEDERATED_TOKEN_FILE ?? '';
      // Read on every request: the platform rotates the file's token.
      return make({ kind: 'client_assertion', clientId, getAssertion: async () => (await readFile(file, 'utf8')).trim() });
    }
    case 'azure-cli': {
      const login = await readAzCliLogin(env, ctx.homeDir, { authorityHost: cloud.authorityHost, subscriptionId: ctx.subscriptionId });
      if ('unavailable' in login) return login;
      return make({ kind: 'refresh_token', clientId: AZURE_CLI_CLIENT_ID, refreshToken: login.refreshToken }, login.tenantId);
    }
    case 'managed-identity':
      return { unavailable: 'managed identity cannot get proof-of-possession tokens (Entra does not issue them to it; microsoft/azure_arc#2900).' };
    case 'device-code':
      return { unavailable: 'device-code sign-in does not get proof-of-possession tokens in this version of arcproxy.' };
    case undefined:
      return { unavailable: 'no sign-in source was chosen.' };
  }
}
