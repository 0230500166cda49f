/** A kubeconfig that points kubectl straight at the emulated apiserver (no arcproxy), for its own e2e tests. */
import { writeFile } from 'node:fs/promises';

export interface DirectKubeconfig {
  server: string;
  /** PEM of the CA that signed the apiserver's certificate. */
  ca: string;
  /** Context name → service-account token; the first is current. Each context uses namespace default. */
  contexts: { name: string; token: string }[];
}

export async function writeDirectKubeconfig(file: string, k: DirectKubeconfig): Promise<void> {
  const lines = [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: demo',
    '  cluster:',
    `    server: ${k.server}`,
    `    certificate-authority-data: ${Buffer.from(k.ca).toString('base64')}`,
    'users:',
    ...k.contexts.flatMap((c) => [`- name: ${c.name}-user`, '  user:', `    token: ${c.token}`]),
    'contexts:',
    ...k.contexts.flatMap((c) => [`- name: ${c.name}`, `  context: {cluster: demo, user: ${c.name}-user, namespace: default}`]),
    `current-context: ${k.contexts[0]!.name}`,
    '',
  ];
  await writeFile(file, lines.join('\n'), { mode: 0o600 });
}
