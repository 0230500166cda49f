/**
 * Which subscription to look in: --subscription (id or name), else AZURE_SUBSCRIPTION_ID, else
 * the Azure CLI's default subscription from its profile file, else a clear error.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { UsageError } from '../errors/index.js';

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface CliSubscription {
  id: string;
  name: string;
  isDefault: boolean;
}

function isSubscriptionId(value: string): boolean {
  return GUID.test(value);
}

/** Reads the Azure CLI's subscriptions from azureProfile.json ($AZURE_CONFIG_DIR or ~/.azure). */
async function readCliSubscriptions(env: NodeJS.ProcessEnv, homeDir: string): Promise<CliSubscription[]> {
  const dir = env.AZURE_CONFIG_DIR || join(homeDir, '.azure');
  let text: string;
  try {
    text = await readFile(join(dir, 'azureProfile.json'), 'utf8');
  } catch {
    return [];
  }
  try {
    // The CLI writes this file with a UTF-8 byte-order mark.
    const doc = JSON.parse(text.replace(/^\uFEFF/, '')) as { subscriptions?: { id?: string; name?: string; isDefault?: boolean }[] };
    return (doc.subscriptions ?? []).filter((s) => typeof s.id === 'string').map((s) => ({ id: s.id!, name: s.name ?? '', isDefault: s.isDefault === true }));
  } catch {
    return [];
  }
}

export interface SubscriptionSources {
  flag: string | undefined;
  env: NodeJS.ProcessEnv;
  homeDir: string;
  /** Lists subscriptions from ARM; only called to resolve a name the CLI profile doesn't know. */
  listFromArm: () => Promise<{ id: string; name: string }[]>;
}

export async function resolveSubscription(src: SubscriptionSources): Promise<string> {
  const wanted = src.flag?.trim();
  if (wanted) {
    if (isSubscriptionId(wanted)) return wanted;
    const byName = (list: { id: string; name: string }[]) => list.filter((s) => s.name.toLowerCase() === wanted.toLowerCase());
    let matches = byName(await readCliSubscriptions(src.env, src.homeDir));
    if (matches.length === 0) matches = byName(await src.listFromArm());
    if (matches.length === 1) return matches[0]!.id;
    if (matches.length > 1) {
      throw new UsageError(
        `Several subscriptions are named '${wanted}' (${matches.map((m) => m.id).join(', ')}): pass --subscription with the id.`,
        'ARCPROXY_AMBIGUOUS_SUBSCRIPTION',
      );
    }
    throw new UsageError(
      `No subscription named '${wanted}' is visible to the signed-in identity. Pass --subscription with an id (az account list -o table).`,
      'ARCPROXY_SUBSCRIPTION_NOT_FOUND',
    );
  }
  const fromEnv = src.env.AZURE_SUBSCRIPTION_ID?.trim();
  if (fromEnv) return fromEnv;
  const cliDefault = (await readCliSubscriptions(src.env, src.homeDir)).find((s) => s.isDefault);
  if (cliDefault) return cliDefault.id;
  throw new UsageError(
    'No subscription given: pass --subscription ID|NAME, set AZURE_SUBSCRIPTION_ID, or choose a default with az account set --subscription ID.',
    'ARCPROXY_NO_SUBSCRIPTION',
  );
}
