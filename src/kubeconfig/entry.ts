/** The kubeconfig entry arcproxy publishes, and how it becomes YAML nodes. */
import { Scalar, YAMLMap, type Document, type YAMLSeq } from 'yaml';
import { KubeconfigError } from './errors.js';

export interface ProxyKubeconfigEntry {
  contextName: string;
  clusterName: string;
  userName: string;
  server: string;
  /** base64 of the PEM of the session CA. */
  certificateAuthorityData: string;
  /** base64 of the PEM client certificate kubectl presents to the local proxy. */
  clientCertificateData: string;
  /** base64 of the PEM client key (a credential: never put it in a message). */
  clientKeyData: string;
  /** Service-account token (token mode). */
  token?: string;
  namespace?: string;
}

export type EntryNames = Pick<ProxyKubeconfigEntry, 'contextName' | 'clusterName' | 'userName' | 'server'>;

/** Rejects entries kubectl could not use; only arcproxy builds entries, so this guards against bugs. */
export function assertValidEntry(entry: EntryNames, file: string): void {
  for (const key of ['contextName', 'clusterName', 'userName', 'server'] as const) {
    const value: unknown = entry[key];
    if (typeof value !== 'string' || value.trim() === '') {
      throw new KubeconfigError('ARCPROXY_KUBECONFIG_INVALID_ENTRY', `The kubeconfig entry has no ${key}; ${file} was left unchanged.`, { file });
    }
  }
}

// Plain scalars a YAML 1.1 reader (kubectl's go-yaml) would take for a bool, null or number.
const YAML11_AMBIGUOUS = /^(?:y|yes|n|no|on|off|true|false|null|~)$/i;
const SAFE_PLAIN = /^[A-Za-z_/][\w./:@+=-]*$/;

/** A string scalar that reads back as the same string in YAML 1.1 and 1.2 readers alike. */
export function stringScalar(value: string): Scalar<string> {
  const node = new Scalar(value);
  if (!SAFE_PLAIN.test(value) || YAML11_AMBIGUOUS.test(value)) node.type = Scalar.QUOTE_DOUBLE;
  return node;
}

function mapOf(doc: Document, pairs: Array<[string, string | YAMLMap | YAMLSeq | undefined]>): YAMLMap {
  const map = new YAMLMap(doc.schema);
  for (const [key, value] of pairs) {
    if (value === undefined) continue;
    map.add(doc.createPair(key, typeof value === 'string' ? stringScalar(value) : value));
  }
  return map;
}

// Only these fields are ever written: in particular never insecure-skip-tls-verify.
export function clusterBody(doc: Document, entry: ProxyKubeconfigEntry): YAMLMap {
  return mapOf(doc, [
    ['server', entry.server],
    ['certificate-authority-data', entry.certificateAuthorityData],
  ]);
}

export function userBody(doc: Document, entry: ProxyKubeconfigEntry): YAMLMap {
  return mapOf(doc, [
    ['client-certificate-data', entry.clientCertificateData],
    ['client-key-data', entry.clientKeyData],
    ['token', entry.token || undefined],
  ]);
}

/** `extensions`: arcproxy's record of the context to restore (see previous-context.ts), if any. */
export function contextBody(doc: Document, entry: ProxyKubeconfigEntry, extensions?: YAMLSeq): YAMLMap {
  return mapOf(doc, [
    ['cluster', entry.clusterName],
    ['user', entry.userName],
    ['namespace', entry.namespace || undefined],
    ['extensions', extensions],
  ]);
}

/** A new list item `{name, <kind>: body}`, in the key order kubectl users read most easily. */
export function namedItem(doc: Document, name: string, kind: string, body: YAMLMap): YAMLMap {
  return mapOf(doc, [
    ['name', name],
    [kind, body],
  ]);
}
