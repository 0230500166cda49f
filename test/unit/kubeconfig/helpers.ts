/** Shared fixtures for the kubeconfig tests: a private temp dir per test and sample entries. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import { parse } from 'yaml';
import type { ProxyKubeconfigEntry } from '../../../src/kubeconfig/index.js';

const dirs: string[] = [];

/** A fresh directory removed after the current test. */
export async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'arcproxy-kubeconfig-'));
  dirs.push(dir);
  return dir;
}

afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');

export function sampleEntry(name = 'arc-demo', port = 47011, extra: Partial<ProxyKubeconfigEntry> = {}): ProxyKubeconfigEntry {
  return {
    contextName: name,
    clusterName: name,
    userName: `clusterUser_rg_${name}`,
    server: `https://127.0.0.1:${port}/proxies/${'ab'.repeat(32)}`,
    // Long enough that a folding writer would wrap it.
    certificateAuthorityData: b64(`-----BEGIN CERTIFICATE-----\n${'MIIB'.repeat(60)}\n-----END CERTIFICATE-----\n`),
    clientCertificateData: b64(`-----BEGIN CERTIFICATE-----\nclient-${name}\n-----END CERTIFICATE-----\n`),
    clientKeyData: b64(`-----BEGIN PRIVATE KEY-----\nkey-${name}\n-----END PRIVATE KEY-----\n`),
    ...extra,
  };
}

interface Named {
  name: string;
  [k: string]: unknown;
}
export interface PlainKubeconfig {
  clusters?: Array<Named & { cluster: Record<string, unknown> }> | null;
  users?: Array<Named & { user: Record<string, unknown> }> | null;
  contexts?: Array<Named & { context: Record<string, unknown> }> | null;
  'current-context'?: string;
  [k: string]: unknown;
}

export function parsePlain(text: string): PlainKubeconfig {
  return parse(text) as PlainKubeconfig;
}

/** The cluster/user/context of `name`s, as plain objects (undefined when absent). */
export function entriesOf(config: PlainKubeconfig, entry: Pick<ProxyKubeconfigEntry, 'clusterName' | 'userName' | 'contextName'>) {
  return {
    cluster: config.clusters?.find((c) => c.name === entry.clusterName),
    user: config.users?.find((u) => u.name === entry.userName),
    context: config.contexts?.find((c) => c.name === entry.contextName),
  };
}

/** True when every line of `original` appears in `output`, in the same order. */
export function linesKeptInOrder(original: string, output: string): boolean {
  const out = output.split('\n');
  let at = 0;
  for (const line of original.split('\n')) {
    const found = out.indexOf(line, at);
    if (found < 0) return false;
    at = found + 1;
  }
  return true;
}

/** A kubeconfig as people really have them: comments, other entries, extensions, unusual fields. */
export const RICH_KUBECONFIG = `# Managed by hand; keep prod first.
apiVersion: v1
clusters:
# production clusters
- cluster:
    certificate-authority-data: QUFBQQ==
    server: https://prod.example.com:6443 # behind the VPN
    extensions:
    - extension:
        last-update: Mon, 25 Nov 2024 10:00:00 UTC
        provider: minikube.sigs.k8s.io
      name: cluster_info
  name: prod
- cluster:
    insecure-skip-tls-verify: true # allowed: a user's own entry, which merges must keep as it is
    proxy-url: socks5://localhost:1080
    server: https://staging.example.com
    tls-server-name: staging.internal
  name: staging
contexts:
- context:
    cluster: prod
    namespace: payments
    user: alice
  name: prod
- context: {cluster: staging, user: alice}
  name: staging
current-context: prod
kind: Config
preferences:
  colors: true
users:
- name: alice
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      args:
      - get-token
      - --server-id
      - "6dae42f8-4368-4678-94ff-3960e28e3630"
      command: kubelogin
      env: null
      interactiveMode: IfAvailable
      provideClusterInfo: false
- name: bob
  user:
    as: system:admin
    token: 'sha256~abc' # rotated weekly
`;
