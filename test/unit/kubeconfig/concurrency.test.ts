/**
 * Several arcproxy processes sharing one kubeconfig must lose nothing. Child processes run the
 * real module, transpiled on the fly with the TypeScript compiler API (no build step needed).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { lockFileFor, mergeKubeconfig } from '../../../src/kubeconfig/index.js';
import { entriesOf, parsePlain, RICH_KUBECONFIG, sampleEntry, tempDir } from './helpers.js';

const run = promisify(execFile);
const REPO = fileURLToPath(new URL('../../../', import.meta.url));

/** Transpiles src/errors/*.ts and src/kubeconfig/*.ts into `out`, keeping the layout. */
async function buildKubeconfigModule(out: string): Promise<string> {
  const sources: string[] = [];
  for (const dir of ['src/errors', 'src/kubeconfig']) {
    for (const f of await readdir(join(REPO, dir))) if (f.endsWith('.ts')) sources.push(`${dir}/${f}`);
  }
  for (const rel of sources) {
    const { outputText } = ts.transpileModule(await readFile(join(REPO, rel), 'utf8'), {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
      fileName: basename(rel),
    });
    const target = join(out, rel.replace(/\.ts$/, '.js'));
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, outputText);
  }
  await writeFile(join(out, 'package.json'), '{"type":"module"}\n');
  // Lets the transpiled code import 'yaml' from the project's dependencies.
  await symlink(join(REPO, 'node_modules'), join(out, 'node_modules'), 'dir');
  return join(out, 'src/kubeconfig/index.js');
}

const CHILD = `
import { mergeKubeconfig } from './src/kubeconfig/index.js';
const [file, ...names] = process.argv.slice(2);
const b64 = (s) => Buffer.from(s).toString('base64');
await Promise.all(names.map((name, i) => mergeKubeconfig(file, {
  contextName: name, clusterName: name, userName: 'user-' + name,
  server: 'https://127.0.0.1:' + (40000 + process.pid % 1000 + i) + '/p',
  certificateAuthorityData: b64('ca-' + name), clientCertificateData: b64('cert-' + name), clientKeyData: b64('key-' + name),
}, { lockTimeoutMs: 30000 })));
`;

describe('concurrent writers', () => {
  it('keeps all 10 entries merged concurrently in one process', async () => {
    const dir = await tempDir();
    const file = join(dir, 'config');
    await writeFile(file, RICH_KUBECONFIG);
    const entries = Array.from({ length: 10 }, (_, i) => sampleEntry(`arc-${i}`, 47000 + i));

    await Promise.all(entries.map((entry) => mergeKubeconfig(file, entry, { setCurrentContext: false })));

    const config = parsePlain(await readFile(file, 'utf8'));
    for (const entry of entries) {
      const ours = entriesOf(config, entry);
      expect(ours.cluster?.cluster.server).toBe(entry.server);
      expect(ours.user).toBeDefined();
      expect(ours.context).toBeDefined();
    }
    expect(config.clusters?.map((c) => c.name).slice(0, 2)).toEqual(['prod', 'staging']);
    expect(config['current-context']).toBe('prod');
    expect(await readdir(dir)).toEqual(['config']);
  });

  it('keeps all 10 entries merged by 4 processes at once', async () => {
    const dir = await tempDir();
    const file = join(dir, 'kube', 'config');
    const build = join(dir, 'build');
    await buildKubeconfigModule(build);
    await writeFile(join(build, 'child.mjs'), CHILD);
    const groups = [
      ['p0-a', 'p0-b', 'p0-c'],
      ['p1-a', 'p1-b', 'p1-c'],
      ['p2-a', 'p2-b'],
      ['p3-a', 'p3-b'],
    ];

    await Promise.all(groups.map((names) => run(process.execPath, [join(build, 'child.mjs'), file, ...names], { cwd: build })));

    const config = parsePlain(await readFile(file, 'utf8'));
    const all = groups.flat();
    expect(config.clusters?.map((c) => c.name).sort()).toEqual([...all].sort());
    expect(config.users?.map((u) => u.name).sort()).toEqual(all.map((n) => `user-${n}`).sort());
    expect(config.contexts?.map((c) => c.name).sort()).toEqual([...all].sort());
    expect(all).toContain(config['current-context']);
    expect(existsSync(lockFileFor(file))).toBe(false);
    expect(await readdir(dirname(file))).toEqual(['config']);
  });
});
