/**
 * bin/load-bundle.js: the built bundle loads with V8's code cache that `npm run build` made for
 * this Node version; a cache V8 refuses, or none, still loads it from source; an unbuilt clone
 * gets the message that says to build.
 */
import { spawnSync } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, assertBuilt, runArcproxy } from '../helpers/arcproxy.js';

const BUNDLE = join(ROOT, 'dist/bundle/main.cjs');
let dir: string;

/** What a fresh Node process (as a launch: V8 has compiled nothing yet) makes of `file`'s code cache, and whether main() came out. */
function loadInChild(file: string): { cache: string; main: string } {
  const loader = pathToFileURL(join(ROOT, 'bin/load-bundle.js')).href;
  const code = `import { loadBundle } from ${JSON.stringify(loader)}; const r = loadBundle(process.argv[1]); console.log(JSON.stringify({ cache: r.cache, main: typeof r.exports.main }));`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', code, file], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as { cache: string; main: string };
}

beforeAll(async () => {
  assertBuilt();
  dir = await mkdtemp(join(tmpdir(), 'arcproxy-loader-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('the bundle loader', () => {
  it('is ASCII, which the loader reads as latin1', async () => {
    const bytes = await readFile(BUNDLE);
    expect(bytes.findIndex((b) => b > 0x7f)).toBe(-1);
  });

  it("uses the build's code cache", () => {
    expect(loadInChild(BUNDLE)).toEqual({ cache: 'accepted', main: 'function' });
  });

  it("compiles from source when V8 refuses the cache (another Node version's) or there is none", async () => {
    const copy = join(dir, 'main.cjs');
    await copyFile(BUNDLE, copy);
    expect(loadInChild(copy)).toEqual({ cache: 'absent', main: 'function' });
    await writeFile(`${copy}.cache`, Buffer.alloc(4096, 7));
    expect(loadInChild(copy)).toEqual({ cache: 'rejected', main: 'function' });
  });

  it('says to build first where dist/ is missing (a clone after npm ci)', async () => {
    const clone = join(dir, 'clone');
    await mkdir(join(clone, 'bin'), { recursive: true });
    for (const f of ['arcproxy.js', 'load-bundle.js']) await copyFile(join(ROOT, 'bin', f), join(clone, 'bin', f));
    await writeFile(join(clone, 'package.json'), '{"type":"module"}');
    const r = spawnSync(process.execPath, [join(clone, 'bin/arcproxy.js'), '--version'], { encoding: 'utf8' });
    expect(r.status).toBe(70);
    expect(r.stderr).toContain('dist/bundle/ is missing: in a clone, run `npm run build` first.');
  });

  it('runs the CLI through the launcher', async () => {
    const r = await runArcproxy(['--version'], { ...process.env });
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });
});
