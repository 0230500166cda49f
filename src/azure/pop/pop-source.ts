/**
 * The sign-in source arcproxy used for ARM, as a source of proof-of-possession tokens for the Arc
 * server application, or why it cannot be one. @azure/identity and MSAL for Node cannot ask
 * Entra for a PoP-bound token for these grants, so arcproxy makes the token request itself
 * (token-request.ts) with the same secret, certificate, federated assertion or refresh token.
 */
import type { AccessToken, TokenCredential } from '@azure/identity';
import { readFile } from 'node:fs/promises';
import type { CloudProfile } from '../../net/cloud-profile.js';
import type { CredentialKind } from '../credentials.js';
import type { UserSignIn } from '../user-sign-in.js';
import { reqCnf, type PopKey } from './pop-key.js';
import { requestToken, type TokenGrant } from './token-request.js';
import { withTokenRetries } from './token-retry.js';

/** Where PoP-bound tokens come from, or why the signed-in source cannot give them. */
export type PopSource = { credential: TokenCredential } | { unavailable: string };

export interface PopSourceContext {
  env: NodeJS.ProcessEnv;
  cloud: CloudProfile;
  /** The user sign-in ARM's tokens came from (Azure CLI login, device code): the cluster's come from it too. */
  userSignIn?: UserSignIn | undefined;
  /** Told when Entra asks for a wait before the next try (token-retry.ts). */
  onThrottled?: ((message: string) => void) | undefined;
}

/**
 * A TokenCredential whose tokens Entra bound to `key` (token_type=pop, cnf.kid = the key's
 * thumbprint). Its requests are retried as ARM's are (token-retry.ts): Entra throttles and fails
 * the cluster's token requests as it does ARM's.
 */
class PopCredential implements TokenCredential {
  readonly #endpoint: { cloud: CloudProfile; tenantId: string };
  readonly #grant: TokenGrant;
  readonly #key: PopKey;
  readonly #onThrottled: ((message: string) => void) | undefined;

  constructor(endpoint: { cloud: CloudProfile; tenantId: string }, grant: TokenGrant, key: PopKey, onThrottled: ((message: string) => void) | undefined) {
    this.#endpoint = endpoint;
    this.#grant = grant;
    this.#key = key;
    this.#onThrottled = onThrottled;
  }

  async getToken(scopes: string | string[]): Promise<AccessToken> {
    const scope = Array.isArray(scopes) ? scopes.join(' ') : scopes;
    const pop = { reqCnf: reqCnf(this.#key.kid), kid: this.#key.kid };
    const result = await withTokenRetries(() => requestToken(this.#endpoint, this.#grant, scope, { pop }), { onThrottled: this.#onThrottled });
    return { token: result.accessToken, expiresOnTimestamp: result.expiresOnMs };
  }
}

export async function popSourceFor(kind: CredentialKind | undefined, ctx: PopSourceContext, key: PopKey): Promise<PopSource> {
  const { env, cloud } = ctx;
  const tenantId = env.AZURE_TENANT_ID ?? '';
  const clientId = env.AZURE_CLIENT_ID ?? '';
  const make = (grant: TokenGrant, tenant = tenantId): PopSource => ({
    credential: new PopCredential({ cloud, tenantId: tenant }, grant, key, ctx.onThrottled),
  });
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
    case 'azure-cli':
    case 'device-code': {
      const signIn = ctx.userSignIn;
      if (!signIn) {
        return {
          unavailable:
            "the Azure CLI's token cache could not be read (on Windows az encrypts it), so arcproxy signed in through `az`, which gives only bearer tokens.",
        };
      }
      const pop = { reqCnf: reqCnf(key.kid), kid: key.kid };
      return {
        credential: {
          async getToken(scopes) {
            const result = await signIn.token(Array.isArray(scopes) ? scopes.join(' ') : scopes, pop);
            return { token: result.accessToken, expiresOnTimestamp: result.expiresOnMs };
          },
        },
      };
    }
    case 'managed-identity':
      return { unavailable: 'managed identity cannot get proof-of-possession tokens (Entra does not issue them to it; microsoft/azure_arc#2900).' };
    case undefined:
      return { unavailable: 'no sign-in source was chosen.' };
  }
}
