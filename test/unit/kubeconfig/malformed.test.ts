import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ExitCode } from '../../../src/errors/index.js';
import { KubeconfigError, mergeKubeconfig, removeKubeconfigEntries } from '../../../src/kubeconfig/index.js';
import { sampleEntry, tempDir } from './helpers.js';

const SECRET = 'c2VjcmV0LWtleS1tYXRlcmlhbA';

const CASES: Array<{ kind: string; text: string; line: number }> = [
  // The unclosed `{` is noticed where the next key starts.
  { kind: 'a YAML syntax error', text: 'apiVersion: v1\nclusters:\n- name: a\n  cluster: {server: https://a\nusers: []\n', line: 5 },
  { kind: 'a tab as indentation', text: 'apiVersion: v1\nclusters:\n- name: a\n\tcluster: {}\n', line: 4 },
  { kind: 'clusters not a list', text: 'apiVersion: v1\nclusters:\n  name: a\n  server: https://a\n', line: 3 },
  { kind: 'users as a string', text: 'apiVersion: v1\nusers: alice\n', line: 2 },
  { kind: 'a context without a name', text: 'contexts:\n- name: a\n  context: {cluster: a}\n- context:\n    cluster: b\n', line: 4 },
  { kind: 'a user that is not a mapping', text: 'users:\n- name: a\n  user: {}\n- just-a-string\n', line: 4 },
  { kind: 'a non-mapping top level', text: '- apiVersion: v1\n- kind: Config\n', line: 1 },
  { kind: 'a scalar top level', text: 'just some text\n', line: 1 },
  { kind: 'a duplicate key', text: 'apiVersion: v1\nkind: Config\nkind: Config\n', line: 3 },
  { kind: 'a bad block scalar next to a credential', text: `users:\n- name: a\n  user:\n    client-key-data: |x ${SECRET}\n      more\n`, line: 4 },
];

describe('malformed kubeconfigs', () => {
  it.each(CASES)('rejects $kind with its line and leaves the file byte for byte', async ({ text, line }) => {
    const dir = await tempDir();
    const file = join(dir, 'config');
    const original = Buffer.from(text, 'utf8');
    await writeFile(file, original);

    const err = await mergeKubeconfig(file, sampleEntry()).then(
      () => undefined,
      (e: unknown) => e,
    );

    expect(err).toBeInstanceOf(KubeconfigError);
    const ke = err as KubeconfigError;
    expect(ke.code).toBe('ARCPROXY_KUBECONFIG_MALFORMED');
    expect(ke.exitCode).toBe(ExitCode.badInput);
    expect(ke.line).toBe(line);
    expect(ke.message).toContain(file);
    expect(ke.message).toContain(`line ${line}, column ${ke.column}`);
    expect(ke.message).toMatch(/left the file unchanged/);
    expect(ke.message).not.toContain(SECRET);
    expect((await readFile(file)).equals(original)).toBe(true);
    // Lock released, no temp file left.
    expect(await readdir(dir)).toEqual(['config']);
  });

  it('refuses to remove entries from a malformed file, too', async () => {
    const dir = await tempDir();
    const file = join(dir, 'config');
    const original = Buffer.from('clusters: {a: b}\n');
    await writeFile(file, original);
    await expect(removeKubeconfigEntries(file, sampleEntry())).rejects.toMatchObject({ code: 'ARCPROXY_KUBECONFIG_MALFORMED', line: 1 });
    expect((await readFile(file)).equals(original)).toBe(true);
    expect(await readdir(dir)).toEqual(['config']);
  });

  it('reports a kubeconfig path that is a directory as an I/O error', async () => {
    const dir = await tempDir();
    await expect(mergeKubeconfig(dir, sampleEntry())).rejects.toMatchObject({ code: 'ARCPROXY_KUBECONFIG_IO', exitCode: ExitCode.badInput });
    expect(await readdir(join(dir, '..'))).not.toContain(`${dir}.lock`);
  });

  it('rejects an entry without names before touching the file', async () => {
    const dir = await tempDir();
    const file = join(dir, 'config');
    await expect(mergeKubeconfig(file, { ...sampleEntry(), contextName: '' })).rejects.toMatchObject({ code: 'ARCPROXY_KUBECONFIG_INVALID_ENTRY' });
    expect(await readdir(dir)).toEqual([]);
  });
});
