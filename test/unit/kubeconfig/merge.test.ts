import { lstat, mkdir, readFile, readdir, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { mergeKubeconfig } from '../../../src/kubeconfig/index.js';
import { entriesOf, linesKeptInOrder, parsePlain, RICH_KUBECONFIG, sampleEntry, tempDir } from './helpers.js';

describe('mergeKubeconfig into an existing kubeconfig', () => {
  it('adds the entry and keeps every other entry, field, comment and order', async () => {
    const file = join(await tempDir(), 'config');
    await writeFile(file, RICH_KUBECONFIG);
    const entry = sampleEntry();

    const result = await mergeKubeconfig(file, entry);

    expect(result).toMatchObject({ file, previousCurrentContext: 'prod', replaced: false });
    // What a removal needs to give the user's exact bytes back.
    expect(result.undo?.before.text).toBe(RICH_KUBECONFIG);
    expect(result.undo?.after).toBe(await readFile(file, 'utf8'));
    const output = await readFile(file, 'utf8');
    // Everything that was there is still there, line for line and in order.
    expect(linesKeptInOrder(RICH_KUBECONFIG.replace('current-context: prod\n', ''), output)).toBe(true);
    for (const comment of ['# Managed by hand; keep prod first.', '# production clusters', '# behind the VPN', '# rotated weekly']) {
      expect(output).toContain(comment);
    }
    // Only the user's own staging cluster carries insecure-skip-tls-verify.
    expect(output.match(/insecure-skip-tls-verify/g)).toHaveLength(1);

    const config = parsePlain(output);
    expect(config.clusters?.map((c) => c.name)).toEqual(['prod', 'staging', entry.clusterName]);
    expect(config.users?.map((u) => u.name)).toEqual(['alice', 'bob', entry.userName]);
    expect(config.contexts?.map((c) => c.name)).toEqual(['prod', 'staging', entry.contextName]);
    expect(config['current-context']).toBe(entry.contextName);
    const ours = entriesOf(config, entry);
    expect(ours.cluster?.cluster).toEqual({ server: entry.server, 'certificate-authority-data': entry.certificateAuthorityData });
    expect(ours.user?.user).toEqual({ 'client-certificate-data': entry.clientCertificateData, 'client-key-data': entry.clientKeyData });
    // The context to go back to is recorded in the file, so it outlives this process.
    expect(ours.context?.context).toEqual({
      cluster: entry.clusterName,
      user: entry.userName,
      extensions: [{ name: 'arcproxy', extension: { 'previous-context': 'prod' } }],
    });
    // Long base64 values stay on one line (no folding).
    expect(output).toContain(`certificate-authority-data: ${entry.certificateAuthorityData}\n`);
  });

  it('replaces an entry of the same name in place, dropping its old fields', async () => {
    const file = join(await tempDir(), 'config');
    const old = sampleEntry('arc-demo', 47011, { token: 'old-token', namespace: 'old-ns' });
    const text = RICH_KUBECONFIG.replace(
      'contexts:\n',
      `- cluster:\n    server: ${old.server}\n    insecure-skip-tls-verify: true # allowed: a stale field the merge must drop\n  name: arc-demo\ncontexts:\n`,
    );
    await writeFile(file, text);
    await mergeKubeconfig(file, old);
    const fresh = sampleEntry('arc-demo', 47999);

    const result = await mergeKubeconfig(file, fresh);

    expect(result.replaced).toBe(true);
    // current-context was our own leftover: the context it recorded is the one to restore.
    expect(result.previousCurrentContext).toBe('prod');
    const output = await readFile(file, 'utf8');
    const config = parsePlain(output);
    expect(config.clusters?.map((c) => c.name)).toEqual(['prod', 'staging', 'arc-demo']);
    expect(config.users?.filter((u) => u.name === fresh.userName)).toHaveLength(1);
    expect(config.contexts?.filter((c) => c.name === fresh.contextName)).toHaveLength(1);
    const ours = entriesOf(config, fresh);
    expect(ours.cluster?.cluster).toEqual({ server: fresh.server, 'certificate-authority-data': fresh.certificateAuthorityData });
    expect(ours.user?.user).not.toHaveProperty('token');
    expect(ours.context?.context).not.toHaveProperty('namespace');
    expect(output.match(/insecure-skip-tls-verify/g)).toHaveLength(1);
  });

  it('writes token and namespace when the entry has them', async () => {
    const file = join(await tempDir(), 'config');
    const entry = sampleEntry('tok', 47011, { token: 'sa-token-value', namespace: 'team-a' });
    await mergeKubeconfig(file, entry);
    const ours = entriesOf(parsePlain(await readFile(file, 'utf8')), entry);
    expect(ours.user?.user).toMatchObject({ token: 'sa-token-value' });
    expect(ours.context?.context).toEqual({ cluster: 'tok', user: entry.userName, namespace: 'team-a' });
  });

  it('leaves current-context alone with setCurrentContext: false', async () => {
    const file = join(await tempDir(), 'config');
    await writeFile(file, RICH_KUBECONFIG);
    const entry = sampleEntry();
    const result = await mergeKubeconfig(file, entry, { setCurrentContext: false });
    expect(result.previousCurrentContext).toBe('prod');
    const config = parsePlain(await readFile(file, 'utf8'));
    expect(config['current-context']).toBe('prod');
    expect(entriesOf(config, entry).context).toBeDefined();
  });

  it('reports no previous context when none was set', async () => {
    const file = join(await tempDir(), 'config');
    await writeFile(file, RICH_KUBECONFIG.replace('current-context: prod\n', ''));
    const result = await mergeKubeconfig(file, sampleEntry());
    expect(result.previousCurrentContext).toBeUndefined();
  });

  it('keeps the sequence indentation style of a hand-written file', async () => {
    const file = join(await tempDir(), 'config');
    const text = 'apiVersion: v1\nclusters:\n  - name: a\n    cluster:\n      server: https://a\ncontexts: []\nusers: []\n';
    await writeFile(file, text);
    const entry = sampleEntry();
    await mergeKubeconfig(file, entry);
    const output = await readFile(file, 'utf8');
    expect(output.startsWith('apiVersion: v1\nclusters:\n  - name: a\n    cluster:\n      server: https://a\n  - name: arc-demo\n')).toBe(true);
    expect(entriesOf(parsePlain(output), entry).context).toBeDefined();
  });
});

describe('mergeKubeconfig into a new or empty file', () => {
  it.each([
    ['missing', undefined],
    ['empty', ''],
    ['comment-only', '# nothing here yet\n'],
  ])('creates a complete kubeconfig from a %s file', async (_kind, content) => {
    const file = join(await tempDir(), 'config');
    if (content !== undefined) await writeFile(file, content);
    const entry = sampleEntry();

    const result = await mergeKubeconfig(file, entry);

    expect(result).toMatchObject({ file, previousCurrentContext: undefined, replaced: false });
    expect(result.undo?.before.text).toBe(content);
    const output = await readFile(file, 'utf8');
    const config = parsePlain(output);
    expect(Object.keys(config)).toEqual(['apiVersion', 'kind', 'preferences', 'clusters', 'users', 'contexts', 'current-context']);
    expect(config).toMatchObject({ apiVersion: 'v1', kind: 'Config', preferences: {}, 'current-context': entry.contextName });
    const ours = entriesOf(config, entry);
    expect(ours.cluster?.cluster).toEqual({ server: entry.server, 'certificate-authority-data': entry.certificateAuthorityData });
    expect(output).not.toContain('insecure-skip-tls-verify');
    if (content) expect(output).toContain('# nothing here yet');
  });

  it('creates missing parent directories 0700 and the file 0600', async () => {
    const dir = await tempDir();
    const file = join(dir, 'a', 'b', 'config');
    await mergeKubeconfig(file, sampleEntry());
    expect((await stat(join(dir, 'a'))).mode & 0o777).toBe(0o700);
    expect((await stat(join(dir, 'a', 'b'))).mode & 0o777).toBe(0o700);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    // Nothing left behind: no lock, no temp file.
    expect(await readdir(join(dir, 'a', 'b'))).toEqual(['config']);
  });

  it('makes an existing world-readable kubeconfig 0600', async () => {
    const file = join(await tempDir(), 'config');
    await writeFile(file, RICH_KUBECONFIG, { mode: 0o644 });
    await mergeKubeconfig(file, sampleEntry());
    expect((await stat(file)).mode & 0o777).toBe(0o600);
  });
});

describe('mergeKubeconfig through a symlink', () => {
  it('writes the real file and keeps the link', async () => {
    const dir = await tempDir();
    await mkdir(join(dir, 'dotfiles'));
    await mkdir(join(dir, '.kube'));
    const real = join(dir, 'dotfiles', 'kubeconfig');
    const link = join(dir, '.kube', 'config');
    await writeFile(real, RICH_KUBECONFIG);
    await symlink('../dotfiles/kubeconfig', link);
    const entry = sampleEntry();

    await mergeKubeconfig(link, entry);

    expect((await lstat(link)).isSymbolicLink()).toBe(true);
    expect(entriesOf(parsePlain(await readFile(real, 'utf8')), entry).cluster).toBeDefined();
    expect((await stat(real)).mode & 0o777).toBe(0o600);
    expect((await readdir(join(dir, '.kube'))).sort()).toEqual(['config']);
    expect((await readdir(join(dir, 'dotfiles'))).sort()).toEqual(['kubeconfig']);
  });

  it('creates the target of a dangling link and keeps the link', async () => {
    const dir = await tempDir();
    const link = join(dir, 'config');
    await symlink(join(dir, 'real-config'), link);
    const entry = sampleEntry();
    await mergeKubeconfig(link, entry);
    expect((await lstat(link)).isSymbolicLink()).toBe(true);
    expect(entriesOf(parsePlain(await readFile(join(dir, 'real-config'), 'utf8')), entry).user).toBeDefined();
  });
});
