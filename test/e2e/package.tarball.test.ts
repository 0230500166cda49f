/**
 * The package as users install it: `npm pack`'s tarball installed into an empty prefix with no
 * registry (offline, empty cache) runs `--help`, the emulator and the demo's main job from an empty
 * directory, through the installed bin and through `npm exec` (what `npx ./arcproxy-*.tgz` runs).
 * Everything the bundle loads must come from the tarball: it declares no dependencies.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, assertBuilt } from '../helpers/arcproxy.js';
import { emulatorAndDemo, help, run } from '../helpers/installed.js';

interface PackResult {
  filename: string;
  size: number;
  unpackedSize: number;
  files: Array<{ path: string; size: number }>;
}

// Budgets with headroom over today's (about 0.65 MB packed, 3.4 MB unpacked with docs/).
const MAX_PACKED = 1.5 * 1024 * 1024;
const MAX_UNPACKED = 6 * 1024 * 1024;
const INSTALL_SCRIPTS = ['preinstall', 'install', 'postinstall', 'prepare'];

let dir: string;
let packed: PackResult;
let tarball: string;

/** npm with no registry: offline, a cache of its own (empty), none of the npm_* variables `npm test` sets. */
function npmEnv(cache: string, home: string): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: home,
    npm_config_offline: 'true',
    npm_config_cache: cache,
    npm_config_update_notifier: 'false',
    npm_config_fund: 'false',
    npm_config_audit: 'false',
  };
}

beforeAll(async () => {
  assertBuilt();
  dir = await mkdtemp(join(tmpdir(), 'arcproxy-pack-'));
  // --ignore-scripts: prepack would build again; test/global-setup.ts has built dist/ already.
  const out = execFileSync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', dir], {
    cwd: ROOT,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  packed = (JSON.parse(out) as PackResult[])[0]!;
  tarball = join(dir, packed.filename);
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('the npm tarball', () => {
  it('holds the launcher, the bundle and the docs only, within its size budget', () => {
    const paths = packed.files.map((f) => f.path);
    expect(paths).toContain('bin/arcproxy.js');
    expect(paths).toContain('bin/load-bundle.js');
    expect(paths).toContain('dist/bundle/main.cjs');
    expect(paths).toContain('dist/bundle/main.cjs.cache');
    const unexpected = paths.filter((p) => !/^(bin\/|dist\/bundle\/|docs\/)/.test(p) && !['package.json', 'README.md', 'LICENSE'].includes(p));
    expect(unexpected).toEqual([]);
    expect(paths.filter((p) => p.endsWith('.map') || p.endsWith('.ts'))).toEqual([]);
    expect(packed.size).toBeLessThan(MAX_PACKED);
    expect(packed.unpackedSize).toBeLessThan(MAX_UNPACKED);
  });

  it('declares no dependencies and no install scripts', () => {
    const manifest = JSON.parse(execFileSync('tar', ['-xzOf', tarball, 'package/package.json'], { encoding: 'utf8' })) as Record<string, unknown>;
    for (const field of ['dependencies', 'optionalDependencies', 'peerDependencies', 'bundleDependencies']) expect(manifest[field], field).toBeUndefined();
    const scripts = (manifest.scripts ?? {}) as Record<string, string>;
    expect(INSTALL_SCRIPTS.filter((s) => s in scripts)).toEqual([]);
  });

  it('installs globally with no registry and runs --help, the emulator and the demo from an empty directory', async () => {
    const prefix = join(dir, 'prefix');
    const work = join(dir, 'empty');
    await mkdir(work);
    const started = Date.now();
    const install = await run('npm', ['install', '--global', '--prefix', prefix, tarball], { cwd: work, env: npmEnv(join(dir, 'cache'), work) });
    expect(install.code, install.stderr).toBe(0);
    expect(install.stderr).not.toMatch(/install.?scripts/i);
    expect(Date.now() - started).toBeLessThan(20_000);
    // Nothing but arcproxy itself: no node_modules of its own.
    const installed = join(prefix, 'lib/node_modules');
    expect(readdirSync(installed)).toEqual(['arcproxy']);
    expect(existsSync(join(installed, 'arcproxy/node_modules'))).toBe(false);

    const bin = { command: join(prefix, 'bin/arcproxy') };
    const usage = await help(bin, work);
    expect(usage.code, usage.stderr).toBe(0);
    expect(usage.stdout).toMatch(/^Usage: arcproxy /);

    const { emulatorOutput, demo } = await emulatorAndDemo(bin, work);
    expect(emulatorOutput).toContain('arcproxy emulator ready');
    expect(demo.code, demo.stderr).toBe(0);
    expect(demo.stdout).toMatch(/^hello-0\s+1\/1\s+Running/m);
    expect(demo.stderr).not.toMatch(/Cannot find (module|package)/);
  }, 90_000);

  it('runs through npm exec (npx) from the tarball with no registry', async () => {
    const work = join(dir, 'npx');
    await mkdir(work);
    const npx = await run('npm', ['exec', '--yes', '--package', tarball, '--', 'arcproxy', '--version'], {
      cwd: work,
      env: npmEnv(join(dir, 'npx-cache'), work),
    });
    expect(npx.code, npx.stderr).toBe(0);
    expect(npx.stdout.trim()).toBe(
      (JSON.parse(execFileSync('tar', ['-xzOf', tarball, 'package/package.json'], { encoding: 'utf8' })) as { version: string }).version,
    );
    expect(npx.stderr).not.toMatch(/install.?scripts/i);
  }, 60_000);
});
