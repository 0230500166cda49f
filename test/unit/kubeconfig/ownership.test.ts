/** arcproxy replaces and removes only its own kubeconfig entries; a user's own are never touched. */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { mergeKubeconfig, removeKubeconfigEntries } from '../../../src/kubeconfig/index.js';
import { entriesOf, parsePlain, sampleEntry, tempDir } from './helpers.js';

const entry = sampleEntry('demo');

async function fileWith(text: string): Promise<string> {
  const file = join(await tempDir(), 'config');
  await writeFile(file, text);
  return file;
}

const FOREIGN = {
  context: `apiVersion: v1
kind: Config
clusters:
- name: prod
  cluster:
    server: https://prod.example:6443
users:
- name: me
  user:
    token: my-token
contexts:
- name: demo
  context:
    cluster: prod
    user: me
current-context: demo
`,
  user: `apiVersion: v1
kind: Config
users:
- name: clusterUser_rg_demo
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1
      command: kubelogin
`,
  cluster: `apiVersion: v1
kind: Config
clusters:
- name: demo
  cluster:
    server: https://demo.example:6443
    certificate-authority-data: Zm9v
`,
};

describe('kubeconfig ownership', () => {
  for (const [kind, text] of Object.entries(FOREIGN)) {
    it(`refuses to overwrite a ${kind} of its name that it did not write, and leaves the file byte for byte`, async () => {
      const file = await fileWith(text);
      await expect(mergeKubeconfig(file, entry)).rejects.toMatchObject({
        code: 'ARCPROXY_KUBECONFIG_NAME_TAKEN',
        exitCode: 2,
        message: expect.stringContaining('--kube-context'),
      });
      expect(await readFile(file, 'utf8')).toBe(text);
    });
  }

  it('refuses a kubeconfig with two entries of one name, as kubectl does', async () => {
    const text = `apiVersion: v1\nkind: Config\ncontexts:\n- name: a\n  context: {cluster: x, user: y}\n- name: a\n  context: {cluster: z, user: y}\n`;
    const file = await fileWith(text);
    await expect(mergeKubeconfig(file, entry)).rejects.toMatchObject({
      code: 'ARCPROXY_KUBECONFIG_MALFORMED',
      message: expect.stringContaining('two contexts named "a"'),
    });
    expect(await readFile(file, 'utf8')).toBe(text);
  });

  it('replaces its own entry left by a killed session on another port', async () => {
    const file = join(await tempDir(), 'config');
    await mergeKubeconfig(file, sampleEntry('demo', 40001));
    await mergeKubeconfig(file, sampleEntry('demo', 40002));
    const e = entriesOf(parsePlain(await readFile(file, 'utf8')), entry);
    expect(e.cluster?.cluster.server).toContain(':40002/');
  });

  it('at exit keeps a user the user put under its name meanwhile', async () => {
    const file = join(await tempDir(), 'config');
    await mergeKubeconfig(file, entry);
    const text = (await readFile(file, 'utf8')).replace(/client-certificate-data: \S+\n\s+client-key-data: \S+/, 'username: me\n    password: secret');
    await writeFile(file, text);
    await removeKubeconfigEntries(file, entry);
    const after = parsePlain(await readFile(file, 'utf8'));
    expect(after.users?.map((u) => u.name)).toEqual(['clusterUser_rg_demo']);
    expect(after.contexts ?? []).toHaveLength(0);
  });
});

describe('kubeconfig paths arcproxy will not write', () => {
  it('refuses a character device (as root, KUBECONFIG=/dev/null would otherwise be replaced)', async () => {
    await expect(mergeKubeconfig('/dev/null', entry)).rejects.toMatchObject({
      code: 'ARCPROXY_KUBECONFIG_IO',
      message: expect.stringContaining('not a regular file'),
    });
    const { stat: statFile } = await import('node:fs/promises');
    expect((await statFile('/dev/null')).isCharacterDevice()).toBe(true);
  });

  it('refuses a FIFO at once instead of blocking on it', async () => {
    const { execFileSync } = await import('node:child_process');
    const fifo = join(await tempDir(), 'config');
    execFileSync('mkfifo', [fifo]);
    await expect(mergeKubeconfig(fifo, entry)).rejects.toMatchObject({ code: 'ARCPROXY_KUBECONFIG_IO' });
  });

  it('leaves a read-only kubeconfig untouched, even for root', async () => {
    const { chmod } = await import('node:fs/promises');
    const file = await fileWith(FOREIGN.cluster.replace('name: demo', 'name: other'));
    await chmod(file, 0o444);
    const before = await readFile(file, 'utf8');
    await expect(mergeKubeconfig(file, entry)).rejects.toMatchObject({ code: 'ARCPROXY_KUBECONFIG_IO', message: expect.stringContaining('read-only') });
    expect(await readFile(file, 'utf8')).toBe(before);
  });
});
