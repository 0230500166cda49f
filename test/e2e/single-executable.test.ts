/**
 * The single executable (scripts/build-sea.mjs) for this platform: built here when it is missing or
 * older than the bundle, then run as a user without Node would, from an empty directory: `--help`,
 * the emulator and the demo's main job. Inside it require() knows only Node's built-ins and there
 * are no files beside it, so this is where a lazy load of a file or package would show.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, assertBuilt } from '../helpers/arcproxy.js';
import { emulatorAndDemo, help } from '../helpers/installed.js';

const EXE = join(ROOT, 'dist/sea', process.platform === 'win32' ? 'arcproxy.exe' : 'arcproxy');

function mtime(path: string): number {
  return existsSync(path) ? statSync(path).mtimeMs : 0;
}

let dir: string;
beforeAll(async () => {
  assertBuilt();
  const inputs = [join(ROOT, 'dist/bundle/main.cjs'), join(ROOT, 'scripts/build-sea.mjs'), join(ROOT, 'scripts/esbuild-shared.mjs')];
  if (mtime(EXE) < Math.max(...inputs.map(mtime))) {
    execFileSync(process.execPath, [join(ROOT, 'scripts/build-sea.mjs')], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
  }
  dir = await mkdtemp(join(tmpdir(), 'arcproxy-sea-'));
}, 180_000);
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('the single executable', () => {
  it('prints its help and version with no Node warning', async () => {
    const usage = await help({ command: EXE }, dir);
    expect(usage.code, usage.stderr).toBe(0);
    expect(usage.stdout).toMatch(/^Usage: arcproxy /);
    expect(usage.stderr).toBe('');
  });

  it('runs the emulator and the demo from an empty directory', async () => {
    // --debug prints every start-up event, warnings included.
    const { emulatorOutput, demo } = await emulatorAndDemo({ command: EXE }, dir, ['--debug']);
    expect(emulatorOutput).toContain('arcproxy emulator ready');
    expect(emulatorOutput).not.toMatch(/Warning/);
    expect(demo.code, demo.stderr).toBe(0);
    expect(demo.stdout).toMatch(/^hello-0\s+1\/1\s+Running/m);
    expect(demo.stderr).toContain('Reached the cluster');
    expect(demo.stderr).not.toMatch(/Warning|Cannot find module/);
  }, 60_000);
});
