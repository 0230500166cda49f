/**
 * Which kubeconfig entries are arcproxy's. arcproxy replaces and removes only its own: a user's
 * own cluster, user or context that happens to have the name arcproxy would use is never
 * overwritten or deleted; the session stops with a clear error instead (`--kube-context` picks
 * other names). An entry is arcproxy's by its shape, so that one left by a killed session (or by
 * `az connectedk8s proxy`, which writes the same shape) is recognised too:
 *  - a cluster whose server is a local proxy's: `https://127.0.0.1:<port>/proxies/<64 hex>`;
 *  - a user holding only what arcproxy writes: a client certificate and key, and a token;
 *  - a context naming arcproxy's cluster and user, with nothing but a namespace and extensions.
 */
import { isMap, type YAMLMap, type YAMLSeq } from 'yaml';
import { bodyField, listOf, nameOf, type KubeconfigDocument, type ListKey } from './document.js';
import type { EntryNames } from './entry.js';
import { KubeconfigError } from './errors.js';

const LOCAL_PROXY_SERVER = /^https:\/\/127\.0\.0\.1:\d{1,5}\/proxies\/[0-9a-f]{64}$/;
const USER_FIELDS = new Set(['client-certificate-data', 'client-key-data', 'token']);
const CONTEXT_FIELDS = new Set(['cluster', 'user', 'namespace', 'extensions']);

function bodyKeys(item: YAMLMap, kind: string): string[] | undefined {
  const body = item.get(kind, true);
  if (!isMap(body)) return undefined;
  return body.items.map((pair) => String((pair.key as { value?: unknown } | null)?.value ?? pair.key));
}

function isOurCluster(item: YAMLMap): boolean {
  return LOCAL_PROXY_SERVER.test(bodyField(item, 'cluster', 'server') ?? '');
}

export function isOurUser(item: YAMLMap): boolean {
  const keys = bodyKeys(item, 'user');
  return keys !== undefined && keys.length > 0 && keys.every((k) => USER_FIELDS.has(k)) && keys.includes('client-key-data');
}

function isOurContext(item: YAMLMap, entry: Pick<EntryNames, 'clusterName' | 'userName'>): boolean {
  const keys = bodyKeys(item, 'context');
  return (
    keys !== undefined &&
    keys.every((k) => CONTEXT_FIELDS.has(k)) &&
    bodyField(item, 'context', 'cluster') === entry.clusterName &&
    bodyField(item, 'context', 'user') === entry.userName
  );
}

const KINDS: Record<ListKey, string> = { clusters: 'cluster', users: 'user', contexts: 'context' };

function duplicateName(list: YAMLSeq<YAMLMap> | undefined): string | undefined {
  const seen = new Set<string>();
  for (const item of list?.items ?? []) {
    const name = nameOf(item);
    if (name === undefined) continue;
    if (seen.has(name)) return name;
    seen.add(name);
  }
  return undefined;
}

/**
 * Refuses, before anything is written, a kubeconfig where arcproxy would overwrite what is not
 * its own, or that kubectl itself refuses (two entries of one name).
 */
export function assertMergeable(kc: KubeconfigDocument, entry: EntryNames, file: string): void {
  for (const key of ['clusters', 'users', 'contexts'] as const) {
    const dup = duplicateName(listOf(kc, key));
    if (dup !== undefined) {
      throw new KubeconfigError(
        'ARCPROXY_KUBECONFIG_MALFORMED',
        `${file} has two ${key} named "${dup}", which kubectl refuses too; it was left unchanged. Remove one of them.`,
        { file },
      );
    }
  }
  const clash = (key: ListKey, name: string, ours: (item: YAMLMap) => boolean): void => {
    const item = listOf(kc, key)?.items.find((i) => nameOf(i) === name);
    if (item && !ours(item)) {
      throw new KubeconfigError(
        'ARCPROXY_KUBECONFIG_NAME_TAKEN',
        `${file} already has a ${KINDS[key]} named "${name}" that arcproxy did not write; it was left unchanged. ` +
          'Choose other names with --kube-context NAME.',
        { file },
      );
    }
  };
  clash('clusters', entry.clusterName, isOurCluster);
  clash('users', entry.userName, isOurUser);
  clash('contexts', entry.contextName, (item) => isOurContext(item, entry));
}
