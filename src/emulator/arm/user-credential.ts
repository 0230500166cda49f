/**
 * The answer of listClusterUserCredential: the relay rendezvous (relay namespace, hybrid
 * connection, a Send-only SAS) and a kubeconfig, as Cluster Connect clients receive them.
 */
import { stringify as toYaml } from 'yaml';
import type { HybridConnectionEntry, RelayDirectory } from '../relay-directory.js';
import type { ClusterRecord } from './inventory.js';

export type AuthenticationMethod = 'AAD' | 'Token';

export interface UserCredentialRequest {
  authenticationMethod: AuthenticationMethod;
  clientProxy: boolean;
}

/** Where the az tool's local proxy listens; the kubeconfig ARM returns points there. */
const CLIENT_PROXY_ADDRESS = 'https://127.0.0.1:47011';

/**
 * How long before the SAS expiry the credential says to refresh: 10 minutes, as the real service
 * does, but never more than half the lifetime (so short test lifetimes still leave time to use it).
 */
export function refreshMargin(lifetimeSeconds: number): number {
  return Math.min(600, Math.floor(lifetimeSeconds / 2));
}

/** The 64-hex cluster hash inside a hybrid connection name (…/connectedclusters/<hash>/<n>). */
function clusterHash(entry: HybridConnectionEntry): string {
  return entry.hybridConnectionName.split('/')[2] ?? '';
}

function kubeconfigYaml(record: ClusterRecord, entry: HybridConnectionEntry): string {
  const name = record.cluster.name;
  const user = `clusterUser_${record.resourceGroup.name}_${name}`;
  return toYaml({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name, cluster: { server: `${CLIENT_PROXY_ADDRESS}/proxies/${clusterHash(entry)}` } }],
    contexts: [{ name, context: { cluster: name, user } }],
    'current-context': name,
    preferences: {},
    users: [{ name: user, user: {} }],
  });
}

/** What api-versions from 2024-07-15-preview add to hybridConnectionConfig. */
export interface RelayFields {
  /** The relay's tenant. */
  relayTid: string;
  /** Left out unless the seed gives the cluster one: no value's meaning is public. */
  relayType?: string;
}

export function userCredentialResult(
  record: ClusterRecord,
  entry: HybridConnectionEntry,
  relays: RelayDirectory,
  request: UserCredentialRequest,
  relayTokenLifetimeSeconds: number,
  relayFields?: RelayFields,
): Record<string, unknown> {
  const kubeconfigs = [{ name: 'credentialName1', value: Buffer.from(kubeconfigYaml(record, entry)).toString('base64') }];
  if (!request.clientProxy) return { kubeconfigs };
  // expirationTime is the issue second plus the lifetime (the REST example: exactly 3 h), when the
  // hybrid connection is deleted; the SAS outlives it by the refresh margin (a reading of the
  // notes: about 10 minutes), which does not matter once the entity is gone.
  const expirationTime = Math.floor((entry.expiresAtMs ?? entry.issuedAtMs + relayTokenLifetimeSeconds * 1000) / 1000);
  const se = expirationTime + refreshMargin(relayTokenLifetimeSeconds);
  return {
    hybridConnectionConfig: {
      expirationTime,
      hybridConnectionName: entry.hybridConnectionName,
      relay: entry.relayName,
      token: relays.sendToken(entry, se),
      ...relayFields,
    },
    kubeconfigs,
  };
}

/** Validates the POST body; returns a message naming what is wrong, or the request. */
export function parseUserCredentialRequest(text: string): UserCredentialRequest | string {
  let body: unknown;
  try {
    body = text.trim() === '' ? undefined : JSON.parse(text);
  } catch {
    return 'the body is not valid JSON.';
  }
  if (!body || typeof body !== 'object' || Array.isArray(body)) {
    return "the body must be a JSON object with 'authenticationMethod' ('AAD' or 'Token') and 'clientProxy' (true or false).";
  }
  const { authenticationMethod, clientProxy } = body as Record<string, unknown>;
  if (authenticationMethod === undefined) return "required property 'authenticationMethod' ('AAD' or 'Token') is missing.";
  const method = typeof authenticationMethod === 'string' ? ['AAD', 'Token'].find((m) => m.toLowerCase() === authenticationMethod.toLowerCase()) : undefined;
  if (!method) return `'authenticationMethod' must be 'AAD' or 'Token', not ${JSON.stringify(authenticationMethod)}.`;
  if (clientProxy === undefined) return "required property 'clientProxy' (true or false) is missing.";
  if (typeof clientProxy !== 'boolean') return `'clientProxy' must be true or false, not ${JSON.stringify(clientProxy)}.`;
  return { authenticationMethod: method as AuthenticationMethod, clientProxy };
}
