/**
 * A session gives the user's kubeconfig back byte for byte: comments and their spacing, blank
 * lines, key order, quoting, a BOM, CRLF endings and the file's mode; a merge that fails leaves
 * it untouched (not merged then restored).
 */
import { chmod, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { lockFileFor, mergeKubeconfig, removeKubeconfigEntries } from '../../../src/kubeconfig/index.js';
import { entriesOf, linesKeptInOrder, parsePlain, sampleEntry, tempDir } from './helpers.js';
import { TRICKY_KUBECONFIGS } from './tricky-fixtures.js';

const cases = Object.entries(TRICKY_KUBECONFIGS);

async function userFile(text: string, mode = 0o644): Promise<string> {
  const file = join(await tempDir(), 'config');
  await writeFile(file, text);
  await chmod(file, mode);
  return file;
}

const modeOf = async (file: string) => (await stat(file)).mode & 0o777;

/** The parsed file without arcproxy's own entries (and without current-context, which a session sets). */
function othersOf(text: string, names: ReturnType<typeof sampleEntry>): unknown {
  const config = parsePlain(text.replace(/^\uFEFF/, ''));
  const { clusters, users, contexts, ...rest } = config;
  delete rest['current-context'];
  return {
    ...rest,
    clusters: (clusters ?? []).filter((c) => c.name !== names.clusterName),
    users: (users ?? []).filter((u) => u.name !== names.userName),
    contexts: (contexts ?? []).filter((c) => c.name !== names.contextName),
  };
}

describe.each(cases)('a kubeconfig with %s', (_name, original) => {
  it('comes back byte for byte, with its mode, after a session adds and removes its entries', async () => {
    const file = await userFile(original);
    const entry = sampleEntry();
    const merged = await mergeKubeconfig(file, entry);
    const during = await readFile(file, 'utf8');
    // While the session runs: the private key makes the file 0600; the user's entries are all still there.
    expect(await modeOf(file)).toBe(0o600);
    expect(entriesOf(parsePlain(during.replace(/^\uFEFF/, '')), entry).cluster?.cluster.server).toBe(entry.server);
    expect(othersOf(during, entry)).toEqual(othersOf(original, entry));
    expect(during.startsWith('\uFEFF')).toBe(original.startsWith('\uFEFF'));
    expect(/(^|[^\r])\n/.test(during)).toBe(/(^|[^\r])\n/.test(original));
    // Patched in place: every line of the user's is still there, as it was, but current-context (which the
    // session sets) and the line of a list that was empty or flow-style (which now holds the session's item too).
    const userLines = original
      .split('\n')
      .filter((line) => !/^(?:clusters|users|contexts): *(?:\[|~|null|$)/.test(line) && !line.startsWith('current-context:'))
      .join('\n');
    expect(linesKeptInOrder(userLines, during)).toBe(true);

    await removeKubeconfigEntries(file, entry, { restoreCurrentContext: merged.previousCurrentContext, undo: merged.undo });

    expect(await readFile(file, 'utf8')).toBe(original);
    expect(await modeOf(file)).toBe(0o644);
  });

  it('keeps its BOM and line endings when someone else wrote meanwhile (the entries are then edited out)', async () => {
    const file = await userFile(original);
    const entry = sampleEntry();
    const merged = await mergeKubeconfig(file, entry);
    // kubectl config set-context (say) wrote the file during the session.
    const other = sampleEntry('arc-other', 47012);
    await mergeKubeconfig(file, other, { setCurrentContext: false });

    await removeKubeconfigEntries(file, entry, { restoreCurrentContext: merged.previousCurrentContext, undo: merged.undo });

    const after = await readFile(file, 'utf8');
    expect(entriesOf(parsePlain(after.replace(/^\uFEFF/, '')), entry)).toEqual({ cluster: undefined, user: undefined, context: undefined });
    expect(entriesOf(parsePlain(after.replace(/^\uFEFF/, '')), other).cluster).toBeDefined();
    expect(after.startsWith('\uFEFF')).toBe(original.startsWith('\uFEFF'));
    expect(after.includes('\r\n')).toBe(original.includes('\r\n'));
    expect(after.replace(/\r\n/g, '').includes('\n')).toBe(!original.includes('\r\n'));
    expect((parse(after.replace(/^\uFEFF/, '')) as Record<string, unknown>)['current-context']).toBe(
      (parse(original.replace(/^\uFEFF/, '')) as Record<string, unknown>)['current-context'],
    );
  });

  it('is left untouched, bytes, mode and modification time, by a merge that fails', async () => {
    const file = await userFile(original);
    const { mtimeMs } = await stat(file);
    const failures: Array<[ReturnType<typeof sampleEntry>, string]> = [];
    // A user of the user's own under arcproxy's name: arcproxy refuses to overwrite it.
    const theirUser = parsePlain(original.replace(/^\uFEFF/, '')).users?.[0]?.name;
    if (theirUser) failures.push([sampleEntry('arc-demo', 47011, { userName: theirUser }), 'ARCPROXY_KUBECONFIG_NAME_TAKEN']);
    for (const [entry, code] of failures) await expect(mergeKubeconfig(file, entry)).rejects.toMatchObject({ code });
    // kubectl holds the lock throughout.
    await writeFile(lockFileFor(file), '', { flag: 'wx' });
    await expect(mergeKubeconfig(file, sampleEntry(), { lockTimeoutMs: 50 })).rejects.toMatchObject({ code: 'ARCPROXY_KUBECONFIG_LOCKED' });
    expect(await readFile(file, 'utf8')).toBe(original);
    expect(await modeOf(file)).toBe(0o644);
    expect((await stat(file)).mtimeMs).toBe(mtimeMs);
  });
});

// Lists that were empty come back as `[]` when the undo record cannot be used: those files are not in this set.
describe.each(cases.filter(([, text]) => !/(?:clusters|users|contexts): *(?:\[|~|null|\r?\n[a-z])/.test(text)))(
  'a block-style kubeconfig with %s',
  (_name, original) => {
    it('comes back byte for byte from stacked sessions stopping in either order, edited in place without the undo record', async () => {
      for (const order of [
        [0, 1],
        [1, 0],
      ]) {
        const file = await userFile(original);
        const entries = [sampleEntry('arc-a', 47011), sampleEntry('arc-b', 47012)];
        const merged = [await mergeKubeconfig(file, entries[0]!), await mergeKubeconfig(file, entries[1]!)];
        for (const i of order) await removeKubeconfigEntries(file, entries[i]!, { restoreCurrentContext: merged[i]!.previousCurrentContext });
        const after = await readFile(file, 'utf8');
        expect(after).toBe(original);
      }
    });
  },
);

describe("a killed session's leftovers", () => {
  it('are not put back when the next session over them stops: its undo record is only for entries it added', async () => {
    const original = TRICKY_KUBECONFIGS['comments everywhere, odd spacing, blank lines, quoting']!;
    const file = await userFile(original);
    const entry = sampleEntry();
    // The killed session's merge: never removed.
    await mergeKubeconfig(file, entry);
    const next = sampleEntry('arc-demo', 47999);
    const merged = await mergeKubeconfig(file, next);
    expect(merged.replaced).toBe(true);
    expect(merged.undo).toBeUndefined();

    await removeKubeconfigEntries(file, next, { restoreCurrentContext: merged.previousCurrentContext, undo: merged.undo });

    // Edited in place: the user's bytes come back, the leftovers do not.
    expect(await readFile(file, 'utf8')).toBe(original);
  });
});
