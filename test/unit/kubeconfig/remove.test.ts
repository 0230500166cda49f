import { access, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { mergeKubeconfig, removeKubeconfigEntries } from '../../../src/kubeconfig/index.js';
import { entriesOf, parsePlain, RICH_KUBECONFIG, sampleEntry, tempDir } from './helpers.js';

describe('removeKubeconfigEntries', () => {
  it('undoes a merge exactly: the file comes back byte for byte', async () => {
    const file = join(await tempDir(), 'config');
    await writeFile(file, RICH_KUBECONFIG);
    const entry = sampleEntry();
    const merged = await mergeKubeconfig(file, entry);
    expect(await readFile(file, 'utf8')).not.toBe(RICH_KUBECONFIG);

    const result = await removeKubeconfigEntries(file, entry, { restoreCurrentContext: merged.previousCurrentContext });

    expect(result).toEqual({ removed: true, currentContext: 'prod' });
    expect(await readFile(file, 'utf8')).toBe(RICH_KUBECONFIG);
  });

  it('removes only our cluster, user and context, even between other entries', async () => {
    const file = join(await tempDir(), 'config');
    await writeFile(file, RICH_KUBECONFIG);
    const ours = sampleEntry('arc-a', 47011);
    const other = sampleEntry('arc-b', 47012);
    await mergeKubeconfig(file, ours);
    await mergeKubeconfig(file, other);

    await removeKubeconfigEntries(file, ours);

    const config = parsePlain(await readFile(file, 'utf8'));
    expect(config.clusters?.map((c) => c.name)).toEqual(['prod', 'staging', 'arc-b']);
    expect(config.users?.map((u) => u.name)).toEqual(['alice', 'bob', other.userName]);
    expect(config.contexts?.map((c) => c.name)).toEqual(['prod', 'staging', 'arc-b']);
    // Another session's context is current: not ours to change.
    expect(config['current-context']).toBe('arc-b');
  });

  it('leaves a newer session that re-used the names (different server) alone', async () => {
    const file = join(await tempDir(), 'config');
    await writeFile(file, RICH_KUBECONFIG);
    const first = sampleEntry('arc-demo', 47011);
    const newer = sampleEntry('arc-demo', 47012);
    const merged = await mergeKubeconfig(file, first);
    await mergeKubeconfig(file, newer);
    const before = await readFile(file);

    const result = await removeKubeconfigEntries(file, first, { restoreCurrentContext: merged.previousCurrentContext });

    expect(result).toEqual({ removed: false, currentContext: 'arc-demo' });
    expect((await readFile(file)).equals(before)).toBe(true);
    const config = parsePlain(before.toString('utf8'));
    expect(entriesOf(config, newer).cluster?.cluster.server).toBe(newer.server);
    expect(config['current-context']).toBe('arc-demo');
  });

  it('removes current-context when the context to restore no longer exists', async () => {
    const file = join(await tempDir(), 'config');
    await writeFile(file, RICH_KUBECONFIG);
    const entry = sampleEntry();
    await mergeKubeconfig(file, entry);
    // The user deletes the context that was current before ours.
    const text = await readFile(file, 'utf8');
    await writeFile(file, text.replace('- context:\n    cluster: prod\n    namespace: payments\n    user: alice\n  name: prod\n', ''));

    await removeKubeconfigEntries(file, entry, { restoreCurrentContext: 'deleted-meanwhile' });

    const config = parsePlain(await readFile(file, 'utf8'));
    expect(config).not.toHaveProperty('current-context');
    expect(entriesOf(config, entry)).toEqual({ cluster: undefined, user: undefined, context: undefined });
  });

  it('removes current-context when there is nothing to restore', async () => {
    const file = join(await tempDir(), 'config');
    const entry = sampleEntry();
    await mergeKubeconfig(file, entry);
    await removeKubeconfigEntries(file, entry);
    const config = parsePlain(await readFile(file, 'utf8'));
    expect(config).not.toHaveProperty('current-context');
    expect(config.clusters).toEqual([]);
  });

  it('does not touch current-context the user switched away from ours', async () => {
    const file = join(await tempDir(), 'config');
    await writeFile(file, RICH_KUBECONFIG);
    const entry = sampleEntry();
    await mergeKubeconfig(file, entry);
    const switched = (await readFile(file, 'utf8')).replace(`current-context: ${entry.contextName}`, 'current-context: staging');
    await writeFile(file, switched);

    await removeKubeconfigEntries(file, entry, { restoreCurrentContext: 'prod' });

    const config = parsePlain(await readFile(file, 'utf8'));
    expect(config['current-context']).toBe('staging');
    expect(entriesOf(config, entry).cluster).toBeUndefined();
  });

  it('keeps a comment that was written above our entry', async () => {
    const file = join(await tempDir(), 'config');
    const entry = sampleEntry();
    await mergeKubeconfig(file, entry, { setCurrentContext: false });
    const commented = (await readFile(file, 'utf8')).replace(`clusters:\n- name: ${entry.clusterName}`, `clusters:\n# keep me\n- name: ${entry.clusterName}`);
    expect(commented).toContain('# keep me');
    await writeFile(file, commented);

    await removeKubeconfigEntries(file, entry);

    expect(await readFile(file, 'utf8')).toContain('# keep me');
  });

  it('does nothing, and creates nothing, when the file is missing', async () => {
    const dir = await tempDir();
    const file = join(dir, 'gone', 'config');
    expect(await removeKubeconfigEntries(file, sampleEntry())).toEqual({ removed: false });
    await expect(access(join(dir, 'gone'))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

describe('the context to restore, recorded in the file', () => {
  it("a run after a killed one (same names) still restores the user's own context", async () => {
    const file = join(await tempDir(), 'config');
    await writeFile(file, RICH_KUBECONFIG);
    await mergeKubeconfig(file, sampleEntry('arc-demo', 47011)); // then SIGKILL: never removed
    const restarted = sampleEntry('arc-demo', 47012);
    const merged = await mergeKubeconfig(file, restarted);

    await removeKubeconfigEntries(file, restarted, { restoreCurrentContext: merged.previousCurrentContext });

    expect(await readFile(file, 'utf8')).toBe(RICH_KUBECONFIG);
  });

  it("stacked sessions stopping first-in-first-out still end on the user's context", async () => {
    const file = join(await tempDir(), 'config');
    await writeFile(file, RICH_KUBECONFIG);
    const a = sampleEntry('arc-a', 47011);
    const b = sampleEntry('arc-b', 47012);
    const mergedA = await mergeKubeconfig(file, a);
    const mergedB = await mergeKubeconfig(file, b);
    expect(mergedB.previousCurrentContext).toBe('arc-a');

    await removeKubeconfigEntries(file, a, { restoreCurrentContext: mergedA.previousCurrentContext });
    expect(parsePlain(await readFile(file, 'utf8'))['current-context']).toBe('arc-b');
    await removeKubeconfigEntries(file, b, { restoreCurrentContext: mergedB.previousCurrentContext });

    expect(await readFile(file, 'utf8')).toBe(RICH_KUBECONFIG);
  });

  it('stacked sessions stopping last-in-first-out pass through the first one', async () => {
    const file = join(await tempDir(), 'config');
    await writeFile(file, RICH_KUBECONFIG);
    const a = sampleEntry('arc-a', 47011);
    const b = sampleEntry('arc-b', 47012);
    const mergedA = await mergeKubeconfig(file, a);
    const mergedB = await mergeKubeconfig(file, b);

    await removeKubeconfigEntries(file, b, { restoreCurrentContext: mergedB.previousCurrentContext });
    expect(parsePlain(await readFile(file, 'utf8'))['current-context']).toBe('arc-a');
    await removeKubeconfigEntries(file, a, { restoreCurrentContext: mergedA.previousCurrentContext });

    expect(await readFile(file, 'utf8')).toBe(RICH_KUBECONFIG);
  });
});
