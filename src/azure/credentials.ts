/**
 * Which Microsoft Entra credential arcproxy signs in with, in the order a user expects:
 * environment service principal (secret, then certificate), workload identity, managed identity,
 * the Azure CLI's login, and — only on an interactive terminal — device-code sign-in.
 *
 * The plan (which credentials, in which order) is a pure function of the environment so it can be
 * tested without Azure; the chain is sticky: once one credential works, it is used for every
 * later token, as DefaultAzureCredential does.
 */
import type { AccessToken, GetTokenOptions, TokenCredential } from '@azure/identity';
import { ArcproxyError } from '../errors/index.js';
import type { CloudProfile } from '../net/cloud-profile.js';
import { credentialOptions } from './transport.js';
import { loadIdentity } from './sdk.js';
import { loadClientCertificateFile } from './pop/client-certificate.js';

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
}

export class AuthError extends ArcproxyError {
  constructor(code: 'ARCPROXY_NO_CREDENTIAL' | 'ARCPROXY_AUTH_FAILED', message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'AuthError';
  }
}

const has = (env: NodeJS.ProcessEnv, name: string) => typeof env[name] === 'string' && env[name] !== '';

/** True when arcproxy may ask the user something: a terminal on both ends and no CI. */
export function isInteractive(env: NodeJS.ProcessEnv, stdinIsTty: boolean, stderrIsTty: boolean): boolean {
  return stdinIsTty && stderrIsTty && !has(env, 'CI');
}

export function credentialPlan(env: NodeJS.ProcessEnv, interactive: boolean, cloud: Pick<CloudProfile, 'name'>): CredentialKind[] {
  const plan: CredentialKind[] = [];
  const spIdentity = has(env, 'AZURE_TENANT_ID') && has(env, 'AZURE_CLIENT_ID');
  if (spIdentity && has(env, 'AZURE_CLIENT_SECRET')) plan.push('environment-secret');
  if (spIdentity && has(env, 'AZURE_CLIENT_CERTIFICATE_PATH')) plan.push('environment-certificate');
  if (spIdentity && has(env, 'AZURE_FEDERATED_TOKEN_FILE')) plan.push('workload-identity');
  // Managed identity only where the host says it offers one: probing the instance metadata
  // address on a laptop costs seconds and sends traffic nobody asked for. ARCPROXY_MANAGED_IDENTITY
  // opts in on Azure VMs, whose metadata service has no environment variable.
  if (has(env, 'IDENTITY_ENDPOINT') || has(env, 'MSI_ENDPOINT') || has(env, 'ARCPROXY_MANAGED_IDENTITY')) plan.push('managed-identity');
  // The Azure CLI's login belongs to Azure's own clouds; a custom cloud profile (the emulator) has
  // its own authority that `az` knows nothing about.
  if (isBuiltinCloud(cloud)) plan.push('azure-cli');
  if (interactive) plan.push('device-code');
  return plan;
}

function isBuiltinCloud(cloud: Pick<CloudProfile, 'name'>): boolean {
  return ['AzureCloud', 'AzureUSGovernment', 'AzureChinaCloud'].includes(cloud.name);
}

/** Builds the credential for one kind. @azure/identity is loaded on first use: it is the heaviest module. */
async function buildCredential(kind: CredentialKind, ctx: CredentialContext): Promise<TokenCredential> {
  const identity = loadIdentity();
  const { env } = ctx;
  const options = credentialOptions(ctx.cloud);
  const tenant = env.AZURE_TENANT_ID ?? '';
  const clientId = env.AZURE_CLIENT_ID ?? '';
  switch (kind) {
    case 'environment-secret':
      return new identity.ClientSecretCredential(tenant, clientId, env.AZURE_CLIENT_SECRET ?? '', options);
    case 'environment-certificate':
      // The SDK would report a file without its key as "secretOrPrivateKey must be an asymmetric key".
      await loadClientCertificateFile(env.AZURE_CLIENT_CERTIFICATE_PATH ?? '', env.AZURE_CLIENT_CERTIFICATE_PASSWORD || undefined);
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
    case 'azure-cli':
      return new identity.AzureCliCredential({ ...options, ...(tenant ? { tenantId: tenant } : {}) });
    case 'device-code':
      return new identity.DeviceCodeCredential({
        ...options,
        tenantId: tenant || 'organizations',
        clientId: AZURE_CLI_CLIENT_ID,
        userPromptCallback: (info) => ctx.prompt(info.message),
      });
  }
}

function howToSignIn(interactive: boolean): string {
  return [
    'Sign in with one of:',
    "  - az login (arcproxy uses the Azure CLI's login);",
    '  - AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET (or AZURE_CLIENT_CERTIFICATE_PATH) for a service principal;',
    '  - AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_FEDERATED_TOKEN_FILE for workload identity (GitHub Actions OIDC, AKS);',
    '  - ARCPROXY_MANAGED_IDENTITY=1 on an Azure VM with a managed identity;',
    interactive ? '' : '  - or run arcproxy in a terminal (not CI) to sign in with a device code;',
    '  - or pass --token with a Kubernetes service-account token (Azure sign-in is still needed to reach the cluster).',
  ]
    .filter(Boolean)
    .join('\n');
}

const MAY_BE_ABSENT = new Set<CredentialKind>(['managed-identity', 'azure-cli']);

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
  #chosen: { kind: CredentialKind; credential: TokenCredential } | undefined;

  constructor(ctx: CredentialContext, plan = credentialPlan(ctx.env, ctx.interactive, ctx.cloud)) {
    this.#ctx = ctx;
    this.#plan = plan;
  }

  /** The credential kind in use, once a token was obtained. */
  get kind(): CredentialKind | undefined {
    return this.#chosen?.kind;
  }

  async getToken(scopes: string | string[], options?: GetTokenOptions): Promise<AccessToken> {
    if (this.#chosen) return this.#tokenFrom(this.#chosen.kind, this.#chosen.credential, scopes, options);
    if (this.#plan.length === 0) {
      throw new AuthError('ARCPROXY_NO_CREDENTIAL', `No Azure credential is available.\n${howToSignIn(this.#ctx.interactive)}`);
    }
    const { CredentialUnavailableError } = loadIdentity();
    const unavailable: string[] = [];
    for (const kind of this.#plan) {
      const credential = await buildCredential(kind, this.#ctx);
      try {
        const token = await this.#tokenFrom(kind, credential, scopes, options);
        this.#chosen = { kind, credential };
        return token;
      } catch (err) {
        const cause = (err as { cause?: unknown }).cause;
        // Only sources that may simply be absent fall through; a configured service principal or
        // workload identity that fails is the user's answer, not a reason to try the next one.
        if (cause instanceof CredentialUnavailableError && MAY_BE_ABSENT.has(kind)) {
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
