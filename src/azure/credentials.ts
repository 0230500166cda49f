/**
 * Which Microsoft Entra credential arcproxy signs in with, in the order a user expects:
 * environment service principal (secret, then certificate), workload identity, managed identity,
 * the Azure CLI's login, and device-code sign-in (a sign-in saved in arcproxy's token cache
 * anywhere; a new prompt only on an interactive terminal, or when ARCPROXY_DEVICE_CODE=1 asks for
 * it). The Azure CLI's login and device-code sign-in are user
 * sign-ins (user-sign-in.ts): one refresh token serves ARM and the cluster.
 *
 * The plan (which credentials, in which order) is a pure function of the environment so it can be
 * tested without Azure; the chain is sticky: once one credential works, it is used for every
 * later token, as DefaultAzureCredential does.
 */
import type { AccessToken, GetTokenOptions, TokenCredential } from '@azure/identity';
import { ArcproxyError } from '../errors/index.js';
import type { CloudProfile } from '../net/cloud-profile.js';
import { AuthError } from './auth-error.js';
import { credentialOptions } from './transport.js';
import { loadIdentity } from './sdk.js';
import { readAzCliLogin } from './az-cache.js';
import { TokenCacheFile, tokenCachePath } from './token-cache.js';
import { NoSavedSignInError, UserSignIn } from './user-sign-in.js';
import { EntraTokenError } from './pop/token-http.js';
import { loadClientCertificateFile } from './pop/client-certificate.js';
import { ClientSecretTokenCredential } from './secret-credential.js';

/** The Azure CLI's public client id: device-code sign-in uses it, as `az login --use-device-code` does. */
export const AZURE_CLI_CLIENT_ID = '04b07795-8ddb-461a-bbee-02f9e1bf7b46';

export type CredentialKind = 'environment-secret' | 'environment-certificate' | 'workload-identity' | 'managed-identity' | 'azure-cli' | 'device-code';

export interface CredentialContext {
  env: NodeJS.ProcessEnv;
  /** stdin and stderr are terminals and CI is not set: the only case where we may prompt. */
  interactive: boolean;
  cloud: CloudProfile;
  /** Where device-code instructions go (stderr). */
  prompt: (message: string) => void;
  /** Things the user should know that do not stop sign-in (an unreadable token cache). */
  warn?: (message: string) => void;
  /** Home directory: az's files and arcproxy's token cache are found from it. */
  homeDir?: string;
  /** The subscription asked for (--subscription or AZURE_SUBSCRIPTION_ID): which of az's logins to use. */
  subscription?: string | undefined;
}

const has = (env: NodeJS.ProcessEnv, name: string) => typeof env[name] === 'string' && env[name] !== '';

/** True when arcproxy may ask the user something: a terminal on both ends and no CI. */
export function isInteractive(env: NodeJS.ProcessEnv, stdinIsTty: boolean, stderrIsTty: boolean): boolean {
  return stdinIsTty && stderrIsTty && !has(env, 'CI');
}

export function credentialPlan(env: NodeJS.ProcessEnv): CredentialKind[] {
  const plan: CredentialKind[] = [];
  const spIdentity = has(env, 'AZURE_TENANT_ID') && has(env, 'AZURE_CLIENT_ID');
  if (spIdentity && has(env, 'AZURE_CLIENT_SECRET')) plan.push('environment-secret');
  if (spIdentity && has(env, 'AZURE_CLIENT_CERTIFICATE_PATH')) plan.push('environment-certificate');
  if (spIdentity && has(env, 'AZURE_FEDERATED_TOKEN_FILE')) plan.push('workload-identity');
  // Managed identity only where the host says it offers one: probing the instance metadata
  // address on a laptop costs seconds and sends traffic nobody asked for. ARCPROXY_MANAGED_IDENTITY
  // opts in on Azure VMs, whose metadata service has no environment variable.
  if (has(env, 'IDENTITY_ENDPOINT') || has(env, 'MSI_ENDPOINT') || has(env, 'ARCPROXY_MANAGED_IDENTITY')) plan.push('managed-identity');
  // The Azure CLI's login: read from az's token cache for any cloud whose authority az signed in
  // to (a custom cloud too: `az cloud register`); for Azure's own clouds, else through `az` itself.
  plan.push('azure-cli');
  // Device code last: a sign-in saved in arcproxy's token cache is used anywhere; a new one is
  // asked for only where someone can answer (a terminal, or an explicit ARCPROXY_DEVICE_CODE=1).
  plan.push('device-code');
  return plan;
}

function isOn(value: string | undefined): boolean {
  return value !== undefined && ['1', 'true', 'yes', 'on'].includes(value.trim().toLowerCase());
}

function isBuiltinCloud(cloud: Pick<CloudProfile, 'name'>): boolean {
  return ['AzureCloud', 'AzureUSGovernment', 'AzureChinaCloud'].includes(cloud.name);
}

/** A user sign-in as a TokenCredential for the ARM client. */
function userSignInCredential(signIn: UserSignIn): TokenCredential {
  return {
    async getToken(scopes) {
      const result = await signIn.token(Array.isArray(scopes) ? scopes.join(' ') : scopes);
      return { token: result.accessToken, expiresOnTimestamp: result.expiresOnMs };
    },
  };
}

interface BuiltCredential {
  credential: TokenCredential;
  /** Set for user sign-ins: the one refresh token the cluster's tokens come from too. */
  userSignIn?: UserSignIn;
}

/** The Azure CLI's login from its token cache; else `az` itself for Azure's own clouds. */
async function azureCliCredential(ctx: CredentialContext): Promise<BuiltCredential> {
  const identity = loadIdentity();
  const tenant = ctx.env.AZURE_TENANT_ID ?? '';
  const login = await readAzCliLogin(ctx.env, ctx.homeDir ?? '', { authorityHost: ctx.cloud.authorityHost, subscriptionId: ctx.subscription });
  if (!('unavailable' in login)) {
    const signIn = new UserSignIn({ cloud: ctx.cloud, tenantId: login.tenantId, clientId: AZURE_CLI_CLIENT_ID, refreshToken: login.refreshToken });
    const fromCache = userSignInCredential(signIn);
    return {
      credential: {
        // An expired az login is an absent one: the next source (a device code) may still sign in.
        getToken: (scopes, options) =>
          fromCache.getToken(scopes, options).catch((err: unknown) => {
            if (!(err instanceof EntraTokenError) || err.oauthError !== 'invalid_grant') throw err;
            throw new identity.CredentialUnavailableError(`the Azure CLI's login for ${login.username} has expired or was revoked; run az login again.`);
          }),
      },
      userSignIn: signIn,
    };
  }
  if (!isBuiltinCloud(ctx.cloud)) {
    const reason = login.unavailable;
    return {
      credential: {
        getToken: () => Promise.reject(new identity.CredentialUnavailableError(reason)),
      },
    };
  }
  return { credential: new identity.AzureCliCredential({ ...credentialOptions(ctx.cloud), ...(tenant ? { tenantId: tenant } : {}) }) };
}

/** True where a device-code prompt can be answered: a terminal, or ARCPROXY_DEVICE_CODE=1. */
function mayPrompt(ctx: CredentialContext): boolean {
  return ctx.interactive || isOn(ctx.env.ARCPROXY_DEVICE_CODE);
}

function deviceCodeSignIn(ctx: CredentialContext): BuiltCredential {
  const path = tokenCachePath(ctx.env, ctx.homeDir ?? '');
  const signIn = new UserSignIn({
    cloud: ctx.cloud,
    tenantId: ctx.env.AZURE_TENANT_ID || 'organizations',
    clientId: AZURE_CLI_CLIENT_ID,
    cache: path === undefined ? undefined : new TokenCacheFile(path, (message) => (ctx.warn ?? ctx.prompt)(message)),
    prompt: mayPrompt(ctx) ? ctx.prompt : undefined,
  });
  const inner = userSignInCredential(signIn);
  return {
    credential: {
      // Nothing saved and nobody to ask: an absent source, so the how-to-sign-in message follows.
      getToken: (scopes, options) =>
        inner.getToken(scopes, options).catch((err: unknown) => {
          if (!(err instanceof NoSavedSignInError)) throw err;
          throw new (loadIdentity().CredentialUnavailableError)(
            "no device-code sign-in is saved in arcproxy's token cache, and without a terminal arcproxy does not ask for one",
          );
        }),
    },
    userSignIn: signIn,
  };
}

/** Builds the credential for one kind. @azure/identity is loaded on first use: it is the heaviest module. */
async function buildCredential(kind: CredentialKind, ctx: CredentialContext): Promise<BuiltCredential> {
  if (kind === 'environment-secret') return { credential: environmentSecretCredential(ctx) };
  if (kind === 'azure-cli') return azureCliCredential(ctx);
  if (kind === 'device-code') return deviceCodeSignIn(ctx);
  if (kind === 'environment-certificate') {
    // The SDK would report a file without its key as "secretOrPrivateKey must be an asymmetric key".
    await loadClientCertificateFile(ctx.env.AZURE_CLIENT_CERTIFICATE_PATH ?? '', ctx.env.AZURE_CLIENT_CERTIFICATE_PASSWORD || undefined);
  }
  return { credential: buildSdkCredential(kind, ctx) };
}

/**
 * The service principal's secret, without the SDK (secret-credential.ts says why). Entra's refusal
 * names the credential, as the SDK's errors are named in #tokenFrom.
 */
function environmentSecretCredential(ctx: CredentialContext): TokenCredential {
  const inner = new ClientSecretTokenCredential({
    cloud: ctx.cloud,
    tenantId: ctx.env.AZURE_TENANT_ID ?? '',
    clientId: ctx.env.AZURE_CLIENT_ID ?? '',
    clientSecret: ctx.env.AZURE_CLIENT_SECRET ?? '',
    onThrottled: (message) => (ctx.warn ?? ctx.prompt)(message),
  });
  return {
    getToken: (scopes, options) =>
      inner.getToken(scopes, options).catch((err: unknown) => {
        if (!(err instanceof EntraTokenError)) throw err;
        throw new AuthError('ARCPROXY_AUTH_FAILED', `Signing in to Microsoft Entra ID with ${describeKind('environment-secret')} failed: ${err.message}`, {
          cause: err,
        });
      }),
  };
}

function buildSdkCredential(kind: Exclude<CredentialKind, 'environment-secret' | 'azure-cli' | 'device-code'>, ctx: CredentialContext): TokenCredential {
  const identity = loadIdentity();
  const { env } = ctx;
  const options = credentialOptions(ctx.cloud);
  const tenant = env.AZURE_TENANT_ID ?? '';
  const clientId = env.AZURE_CLIENT_ID ?? '';
  switch (kind) {
    case 'environment-certificate':
      return new identity.ClientCertificateCredential(
        tenant,
        clientId,
        {
          certificatePath: env.AZURE_CLIENT_CERTIFICATE_PATH ?? '',
          ...(env.AZURE_CLIENT_CERTIFICATE_PASSWORD ? { certificatePassword: env.AZURE_CLIENT_CERTIFICATE_PASSWORD } : {}),
        },
        options,
      );
    case 'workload-identity':
      return new identity.WorkloadIdentityCredential({ ...options, tenantId: tenant, clientId, tokenFilePath: env.AZURE_FEDERATED_TOKEN_FILE ?? '' });
    case 'managed-identity':
      return clientId ? new identity.ManagedIdentityCredential(clientId, options) : new identity.ManagedIdentityCredential(options);
  }
}

function howToSignIn(interactive: boolean): string {
  return [
    'Sign in with one of:',
    "  - az login (arcproxy uses the Azure CLI's login);",
    '  - AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET (or AZURE_CLIENT_CERTIFICATE_PATH) for a service principal;',
    '  - AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_FEDERATED_TOKEN_FILE for workload identity (GitHub Actions OIDC, AKS);',
    '  - ARCPROXY_MANAGED_IDENTITY=1 on an Azure VM with a managed identity;',
    interactive ? '' : '  - or run arcproxy in a terminal (not CI), or set ARCPROXY_DEVICE_CODE=1, to sign in with a device code;',
    '  - or pass --token with a Kubernetes service-account token (Azure sign-in is still needed to reach the cluster).',
  ]
    .filter(Boolean)
    .join('\n');
}

const MAY_BE_ABSENT = new Set<CredentialKind>(['managed-identity', 'azure-cli', 'device-code']);

/** Walks an error's causes for the most specific reason (a TLS or network failure deep in MSAL). */
function innermostReason(err: unknown): string | undefined {
  let found: string | undefined;
  const seen = new Set<unknown>();
  let cur: unknown = err;
  while (cur && typeof cur === 'object' && !seen.has(cur)) {
    seen.add(cur);
    const code = (cur as { code?: unknown }).code;
    if (typeof code === 'string' && /CERT|SELF_SIGNED|UNABLE_TO|ECONNREFUSED|ENOTFOUND|ETIMEDOUT|ECONNRESET|EAI_AGAIN/.test(code)) {
      found = `${code}${(cur as Error).message ? `: ${firstLine((cur as Error).message)}` : ''}`;
    }
    cur = (cur as { cause?: unknown; innerError?: unknown }).cause ?? (cur as { innerError?: unknown }).innerError;
  }
  return found;
}

/** A sticky chain: tries each planned credential until one gives a token, then keeps it. */
export class ArcproxyCredential implements TokenCredential {
  readonly #ctx: CredentialContext;
  readonly #plan: CredentialKind[];
  #chosen: ({ kind: CredentialKind } & BuiltCredential) | undefined;

  constructor(ctx: CredentialContext, plan = credentialPlan(ctx.env)) {
    this.#ctx = ctx;
    this.#plan = plan;
  }

  /**
   * Whether signing in may load @azure/identity: not when a client secret comes first in the plan
   * (it is signed in without the SDK, and a failure ends the chain).
   */
  get needsIdentitySdk(): boolean {
    return this.#plan[0] !== 'environment-secret';
  }

  /** The credential kind in use, once a token was obtained. */
  get kind(): CredentialKind | undefined {
    return this.#chosen?.kind;
  }

  /** The user sign-in behind the chosen credential (Azure CLI login, device code), once chosen. */
  get userSignIn(): UserSignIn | undefined {
    return this.#chosen?.userSignIn;
  }

  async getToken(scopes: string | string[], options?: GetTokenOptions): Promise<AccessToken> {
    if (this.#chosen) return this.#tokenFrom(this.#chosen.kind, this.#chosen.credential, scopes, options);
    if (this.#plan.length === 0) {
      throw new AuthError('ARCPROXY_NO_CREDENTIAL', `No Azure credential is available.\n${howToSignIn(this.#ctx.interactive)}`);
    }
    const unavailable: string[] = [];
    for (const kind of this.#plan) {
      const built = await buildCredential(kind, this.#ctx);
      try {
        const token = await this.#tokenFrom(kind, built.credential, scopes, options);
        this.#chosen = { kind, ...built };
        return token;
      } catch (err) {
        const cause = (err as { cause?: unknown }).cause;
        // Only sources that may simply be absent fall through; a configured service principal or
        // workload identity that fails is the user's answer, not a reason to try the next one.
        // (@azure/identity is loaded here only for sources that may be absent: they came through it.)
        if (MAY_BE_ABSENT.has(kind) && cause instanceof loadIdentity().CredentialUnavailableError) {
          unavailable.push(`${kind}: ${firstLine((cause as Error).message)}`);
          continue;
        }
        throw err;
      }
    }
    throw new AuthError('ARCPROXY_NO_CREDENTIAL', `No Azure credential could sign in (${unavailable.join('; ')}).\n${howToSignIn(this.#ctx.interactive)}`);
  }

  async #tokenFrom(kind: CredentialKind, credential: TokenCredential, scopes: string | string[], options?: GetTokenOptions): Promise<AccessToken> {
    try {
      const token = await credential.getToken(scopes, options);
      if (!token) throw new AuthError('ARCPROXY_AUTH_FAILED', `Signing in with ${kind} returned no token.`);
      return token;
    } catch (err) {
      if (err instanceof ArcproxyError) throw err;
      const { CredentialUnavailableError } = loadIdentity();
      const reason = innermostReason(err);
      let message = firstLine((err as Error).message ?? String(err)) + (reason ? ` (${reason})` : '');
      if (/endpoints_resolution_error/.test(message)) {
        message += ` — arcproxy could not reach the sign-in authority ${this.#ctx.cloud.authorityHost}: check the network, any proxy, and (for a custom cloud profile) its CA.`;
      }
      const wrapped = new AuthError('ARCPROXY_AUTH_FAILED', `Signing in to Microsoft Entra ID with ${describeKind(kind)} failed: ${message}`, { cause: err });
      if (err instanceof CredentialUnavailableError) Object.defineProperty(wrapped, 'cause', { value: err });
      throw wrapped;
    }
  }
}

function describeKind(kind: CredentialKind): string {
  switch (kind) {
    case 'environment-secret':
      return 'the service principal in AZURE_CLIENT_ID/AZURE_CLIENT_SECRET';
    case 'environment-certificate':
      return 'the service principal certificate in AZURE_CLIENT_CERTIFICATE_PATH';
    case 'workload-identity':
      return 'workload identity (AZURE_FEDERATED_TOKEN_FILE)';
    case 'managed-identity':
      return 'managed identity';
    case 'azure-cli':
      return "the Azure CLI's login";
    case 'device-code':
      return 'device-code sign-in';
  }
}

function firstLine(s: string): string {
  const line = s.split('\n').find((l) => l.trim() !== '') ?? s;
  return line.length > 400 ? `${line.slice(0, 400)}…` : line;
}
