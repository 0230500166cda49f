/**
 * The user's files through the real binary: a session gives the kubeconfig back byte for byte; a
 * start that cannot succeed (a bad cloud profile, a cluster name ARM cannot take, a name the user
 * already has) fails before any file is touched; a killed run's lock and temp files do not linger.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Emulator } from '../../src/emulator/index.js';
import { startTestEmulator, arcproxyEnv } from '../helpers/emulator.js';
import { TRICKY_KUBECONFIGS } from '../unit/kubeconfig/tricky-fixtures.js';
import { ROOT, runArcproxy, startArcproxy, tempHome, type ArcproxyProcess } from '../helpers/arcproxy.js';

let emulator: Emulator;
const homes: Array<{ dir: string; cleanup: () => Promise<void> }> = [];

beforeAll(async () => {
  emulator = await startTestEmulator();
});
afterAll(async () => {
  await emulator?.close();
});
const running: ArcproxyProcess[] = [];
afterEach(async () => {
  for (const p of running.splice(0)) await p.stop('SIGKILL');
  for (const h of homes.splice(0)) await h.cleanup();
});

async function freshHome(): Promise<string> {
  const h = await tempHome();
  homes.push(h);
  await mkdir(join(h.dir, '.kube'), { recursive: true });
  return h.dir;
}

const USER_KUBECONFIG = '# my clusters\r\napiVersion: v1\r\nkind: Config\r\nclusters: []   # none yet\r\n';

const errorEvent = (stdout: string) =>
  stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .find((e) => e.event === 'error');

describe("the user's kubeconfig, byte for byte", () => {
  it('a session that adds its entries and removes them at exit leaves the file byte-identical, with its mode', async () => {
    const dir = await freshHome();
    const kubeconfig = join(dir, '.kube', 'config');
    for (const name of ['a UTF-8 BOM', 'CRLF line endings', 'flow style and empty lists']) {
      const original = TRICKY_KUBECONFIGS[name]!;
      await writeFile(kubeconfig, original);
      await chmod(kubeconfig, 0o644);
      const proxy = await startArcproxy(['-n', 'demo', '-g', 'demo-rg', '--port', '0'], arcproxyEnv(emulator, dir));
      running.push(proxy);
      const during = await readFile(kubeconfig, 'utf8');
      expect(during).toContain('name: demo');
      expect(during.startsWith('\uFEFF')).toBe(original.startsWith('\uFEFF'));
      // While it runs only arcproxy's entries differ: the user's lines are all there, spacing and all.
      if (original.includes('# aligned comment')) {
        for (const line of [
          'apiVersion: v1      # aligned comment',
          '      user: alice   #  two spaces after the hash',
          '# trailing comment, then a blank line',
        ])
          expect(during).toContain(line);
      }
      expect(await proxy.stop('SIGTERM')).toBe(0);
      expect(await readFile(kubeconfig, 'utf8')).toBe(original);
      expect((await stat(kubeconfig)).mode & 0o777).toBe(0o644);
    }
  });

  it('a start that fails on a name the user already has leaves the file exactly as it was, modification time included', async () => {
    const dir = await freshHome();
    const kubeconfig = join(dir, '.kube', 'config');
    const original = TRICKY_KUBECONFIGS['comments everywhere, odd spacing, blank lines, quoting']!.replace(/- name: prod\b/, '- name: demo');
    await writeFile(kubeconfig, original);
    await chmod(kubeconfig, 0o640);
    const { mtimeMs } = await stat(kubeconfig);
    const r = await runArcproxy(['-n', 'demo', '-g', 'demo-rg', '--port', '0', '-o', 'json'], arcproxyEnv(emulator, dir));
    expect(r.code).toBe(2);
    expect(errorEvent(r.stdout)).toMatchObject({ code: 'ARCPROXY_KUBECONFIG_NAME_TAKEN' });
    expect(await readFile(kubeconfig, 'utf8')).toBe(original);
    expect((await stat(kubeconfig)).mode & 0o777).toBe(0o640);
    expect((await stat(kubeconfig)).mtimeMs).toBe(mtimeMs);
    expect(await readdir(join(dir, '.kube'))).toEqual(['config']);
  });
});

describe('a start that cannot succeed fails before any file is touched', () => {
  it('a cloud profile with an http:// endpoint or a non-PEM ca is exit 2 at load, naming the field', async () => {
    const dir = await freshHome();
    const kubeconfig = join(dir, '.kube', 'config');
    await writeFile(kubeconfig, USER_KUBECONFIG, { mode: 0o644 });
    const profile = JSON.parse(await readFile(emulator.env.ARCPROXY_CLOUD!, 'utf8')) as Record<string, unknown>;
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ ...profile, authorityHost: String(profile.authorityHost).replace('https:', 'http:') }, /"authorityHost" must be an https:\/\/ URL/],
      [{ ...profile, ca: 'not a certificate' }, /"ca" holds no PEM certificate/],
      [{ ...profile, resourceManagerEndpoint: 'management' }, /"resourceManagerEndpoint" is not a URL/],
    ];
    for (const [bad, message] of cases) {
      const file = join(dir, 'cloud.json');
      await writeFile(file, JSON.stringify(bad));
      const r = await runArcproxy(['-n', 'demo', '-g', 'demo-rg', '--port', '0', '-o', 'json'], arcproxyEnv(emulator, dir, { ARCPROXY_CLOUD: file }));
      expect(r.code).toBe(2);
      expect(errorEvent(r.stdout)).toMatchObject({ code: 'ARCPROXY_BAD_CLOUD_PROFILE', exitCode: 2, message: expect.stringMatching(message) });
      expect(await readFile(kubeconfig, 'utf8')).toBe(USER_KUBECONFIG);
      expect((await stat(kubeconfig)).mode & 0o777).toBe(0o644);
    }
  });

  it('cluster names "." and ".." and names with "/" are refused before ARM is asked', async () => {
    const dir = await freshHome();
    for (const name of ['.', '..', 'demo/../x']) {
      const r = await runArcproxy(['-n', name, '-g', 'demo-rg', '--port', '0', '-o', 'json'], arcproxyEnv(emulator, dir));
      expect(r.code).toBe(2);
      expect(errorEvent(r.stdout)).toMatchObject({ code: 'ARCPROXY_BAD_INPUT', message: expect.stringMatching(/^--name\/-n /) });
    }
    const r = await runArcproxy(['-n', 'demo', '-g', 'demo-rg.', '--port', '0', '-o', 'json'], arcproxyEnv(emulator, dir));
    expect(errorEvent(r.stdout)).toMatchObject({ code: 'ARCPROXY_BAD_INPUT', message: expect.stringMatching(/^--resource-group\/-g /) });
  });
});

/** A process running arcproxy's own lock code (the built module the binary bundles) holds `file`'s lock until it is SIGKILLed. */
async function killedWhileHoldingLock(file: string): Promise<number> {
  const lockModule = pathToFileURL(join(ROOT, 'dist/kubeconfig/lock.js')).href;
  const script = `import { withFileLock } from ${JSON.stringify(lockModule)};
await withFileLock(${JSON.stringify(file)}, { timeoutMs: 5000 }, () => { process.stdout.write('held\\n'); return new Promise(() => {}); });`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => d.toString().includes('held') && resolve());
    child.on('exit', (code) => reject(new Error(`the lock holder exited with ${code} before taking the lock`)));
  });
  const exited = new Promise((resolve) => child.on('exit', resolve));
  child.kill('SIGKILL');
  await exited;
  return child.pid!;
}

describe('leftovers of a killed process', () => {
  it('a lock left by a SIGKILLed arcproxy is taken over at once with a notice, not waited on for 10 s', async () => {
    const dir = await freshHome();
    const kubeconfig = join(dir, '.kube', 'config');
    await writeFile(kubeconfig, USER_KUBECONFIG, { mode: 0o600 });
    const pid = await killedWhileHoldingLock(kubeconfig);
    expect(existsSync(`${kubeconfig}.lock`)).toBe(true);
    // A killed writer's temp file too (its pid is in the name).
    const temp = join(dir, '.kube', `.config.${pid}.0123456789ab.tmp`);
    await writeFile(temp, '');

    const started = Date.now();
    const proxy = await startArcproxy(['-n', 'demo', '-g', 'demo-rg', '--port', '0'], arcproxyEnv(emulator, dir));
    running.push(proxy);
    expect(Date.now() - started).toBeLessThan(8000);
    await expect.poll(() => proxy.stderr()).toContain(`warning: took over ${kubeconfig}.lock, left by arcproxy process ${pid}, which is no longer running.`);
    expect(existsSync(temp)).toBe(false);
    expect(await proxy.stop('SIGTERM')).toBe(0);
    expect(await readdir(join(dir, '.kube'))).toEqual(['config']);
  });
});
