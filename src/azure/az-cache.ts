/**
 * The Azure CLI's login, read from its own files so arcproxy can redeem its refresh token for a
 * proof-of-possession token, as az itself does through MSAL (`az connectedk8s proxy`). Read only:
 * arcproxy never writes to az's files. On Linux and macOS az keeps MSAL's cache as plain JSON
 * (`msal_token_cache.json`, MSAL's cross-language schema); on Windows it is encrypted (`.bin`),
 * which arcproxy cannot read: it says so and falls back to a plain bearer token.
 */
import { readFile } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { AZURE_CLI_CLIENT_ID } from './credentials.js';

export interface AzCliLogin {
  /** Secret: az's refresh token for its own client id. */
  refreshToken: string;
  /** The tenant of the subscription az uses: the authority to redeem the token at. */
  tenantId: string;
  username: string;
}

interface ProfileSubscription {
  id?: string;
  name?: string;
  tenantId?: string;
  isDefault?: boolean;
  user?: { name?: string; type?: string };
}

interface CacheEntry {
  home_account_id?: string;
  environment?: string;
  client_id?: string;
  family_id?: string;
  username?: string;
  secret?: string;
}

async function readJson(path: string): Promise<unknown> {
  // az writes its files with a UTF-8 byte-order mark.
  return JSON.parse((await readFile(path, 'utf8')).replace(/^\uFEFF/, '')) as unknown;
}

/**
 * az's login for `subscriptionId` (an id or a name; else az's default subscription) at the authority `authorityHost`,
 * or why there is none to use. Never throws for a missing or unreadable file.
 */
export async function readAzCliLogin(
  env: NodeJS.ProcessEnv,
  homeDir: string,
  opts: { authorityHost: string; subscriptionId?: string },
): Promise<AzCliLogin | { unavailable: string }> {
  // Without a home directory there is no ~/.azure (never look in the working directory).
  if (!env.AZURE_CONFIG_DIR && !isAbsolute(homeDir)) return { unavailable: "there is no home directory to find the Azure CLI's files in." };
  const dir = env.AZURE_CONFIG_DIR || join(homeDir, '.azure');
  let subscriptions: ProfileSubscription[];
  try {
    subscriptions = ((await readJson(join(dir, 'azureProfile.json'))) as { subscriptions?: ProfileSubscription[] }).subscriptions ?? [];
  } catch {
    return { unavailable: `the Azure CLI's profile (${join(dir, 'azureProfile.json')}) could not be read.` };
  }
  const wanted = opts.subscriptionId?.toLowerCase();
  // --subscription takes an id or a name.
  const sub = subscriptions.find((s) => (wanted ? s.id?.toLowerCase() === wanted || s.name?.toLowerCase() === wanted : s.isDefault === true));
  if (!sub?.tenantId || !sub.user?.name) return { unavailable: "the Azure CLI's profile has no signed-in user for this subscription." };
  if (sub.user.type !== 'user') {
    return { unavailable: 'the Azure CLI is signed in as a service principal; set AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET for it instead.' };
  }
  let cache: { Account?: Record<string, CacheEntry>; RefreshToken?: Record<string, CacheEntry> };
  try {
    cache = (await readJson(join(dir, 'msal_token_cache.json'))) as typeof cache;
  } catch {
    return {
      unavailable: `the Azure CLI's token cache (${join(dir, 'msal_token_cache.json')}) could not be read (on Windows az encrypts it).`,
    };
  }
  const environment = new URL(opts.authorityHost).host.toLowerCase();
  const username = sub.user.name.toLowerCase();
  const account = Object.values(cache.Account ?? {}).find((a) => a.username?.toLowerCase() === username && a.environment?.toLowerCase() === environment);
  const refresh =
    account &&
    Object.values(cache.RefreshToken ?? {}).find(
      (t) => t.home_account_id === account.home_account_id && t.environment?.toLowerCase() === environment && t.client_id === AZURE_CLI_CLIENT_ID && t.secret,
    );
  if (!refresh?.secret) return { unavailable: `the Azure CLI's token cache holds no refresh token for ${sub.user.name}; run az login again.` };
  return { refreshToken: refresh.secret, tenantId: sub.tenantId, username: sub.user.name };
}
