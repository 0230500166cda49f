/**
 * arcproxy as a process scripts and CI drive: JSON events and the ready file, clean exit on a
 * signal with requests in flight, a restart after SIGKILL, two sessions on one kubeconfig, and
 * run mode's signal forwarding. Real binary, emulator and kubectl.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { performance } from 'node:perf_hooks';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import type { Emulator } from '../../src/emulator/index.js';
import { ExitCode } from '../../src/errors/index.js';
import { arcproxyEnv, startTestEmulator } from '../helpers/emulator.js';
import { assertBuilt, BIN, ROOT, runArcproxy, startArcproxy, tempHome, type ArcproxyProcess } from '../helpers/arcproxy.js';
import { availableKubectls, runKubectl, spawnKubectl, type LongRunningKubectl } from '../helpers/kubectl.js';

const kubectl = availableKubectls()[0];

let emulator: Emulator;
const homes: Array<{ cleanup: () => Promise<void> }> = [];
const processes: Array<{ kill: () => unknown }> = [];

beforeAll(async () => {
  emulator = await startTestEmulator();
});
afterAll(async () => {
  await emulator?.close();
});
afterEach(async () => {
  for (const p of processes.splice(0)) await p.kill();
  for (const h of homes.splice(0)) await h.cleanup();
});

async function freshHome(): Promise<string> {
  const home = await tempHome();
  homes.push(home);
  await mkdir(join(home.dir, '.kube'), { recursive: true });
  return home.dir;
}

/** A spawned arcproxy whose output a test can wait on (for events, never for time). */
interface Watched {
  proc: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number>;
  waitFor(stream: 'stdout' | 'stderr', pattern: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
}

function spawnWatched(args: string[], env: Record<string, string | undefined>): Watched {
  assertBuilt();
  const proc = spawn(process.execPath, [BIN, ...args], { env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const text = { stdout: '', stderr: '' };
  const listeners = new Set<() => void>();
  proc.stdout!.on('data', (d) => ((text.stdout += d), listeners.forEach((l) => l())));
  proc.stderr!.on('data', (d) => ((text.stderr += d), listeners.forEach((l) => l())));
  const exited = new Promise<number>((resolve) =>
    proc.on('exit', (code, signal) => resolve(code ?? (signal === 'SIGKILL' ? 137 : signal === 'SIGTERM' ? 143 : 128))),
  );
  processes.push({ kill: () => (proc.exitCode === null && proc.signalCode === null ? (proc.kill('SIGKILL'), exited) : undefined) });
  return {
    proc,
    exited,
    stdout: () => text.stdout,
    stderr: () => text.stderr,
    waitFor(stream, pattern, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const m = pattern.exec(text[stream]);
          if (m) {
            done();
            resolve(m);
          }
        };
        const timer = setTimeout(() => fail(`not seen in ${timeoutMs} ms`), timeoutMs);
        const fail = (why: string) => {
          done();
          reject(new Error(`${pattern} on ${stream} ${why}\nstdout: ${text.stdout}\nstderr: ${text.stderr}`));
        };
        const done = () => {
          clearTimeout(timer);
          listeners.delete(check);
        };
        listeners.add(check);
        void exited.then((code) => (pattern.exec(text[stream]) ? undefined : fail(`not seen; exited ${code}`)));
        check();
      });
    },
  };
}

type JsonEvent = { event: string; time: string; [k: string]: unknown };

/** Every line must be one JSON object with an event name and a timestamp. */
function jsonLines(text: string): JsonEvent[] {
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((line) => {
      const e = JSON.parse(line) as JsonEvent;
      expect(typeof e.event).toBe('string');
      expect(Number.isNaN(Date.parse(e.time))).toBe(false);
      return e;
    });
}

function track(p: ArcproxyProcess): ArcproxyProcess {
  processes.push({ kill: () => p.stop('SIGKILL') });
  return p;
}

function track2(k: LongRunningKubectl): LongRunningKubectl {
  processes.push({ kill: () => k.kill() });
  return k;
}

const USER_KUBECONFIG = `apiVersion: v1
kind: Config
clusters:
- name: prod
  cluster:
    server: https://prod.example:6443
contexts:
- name: prod
  context:
    cluster: prod
    user: prod-admin
current-context: prod
users:
- name: prod-admin
  user:
    token: not-a-real-token
`;

type Kubeconfig = { clusters?: { name: string }[]; users?: { name: string }[]; contexts?: { name: string }[]; 'current-context'?: string };
const names = (list: { name: string }[] | undefined) => (list ?? []).map((i) => i.name);

describe('--output json and --ready-file', () => {
  it('writes one JSON event per line: ready with port, context and kubeconfig; stopped on SIGTERM; the ready file comes and goes', async () => {
    const dir = await freshHome();
    const readyFile = join(dir, 'ready.json');
    const p = spawnWatched(['-n', 'demo', '-g', 'demo-rg', '--port', '0', '--output', 'json', '--ready-file', readyFile], arcproxyEnv(emulator, dir));
    await p.waitFor('stdout', /"event":"ready".*\n/);

    const ready = jsonLines(p.stdout()).find((e) => e.event === 'ready')!;
    expect(ready).toMatchObject({ context: 'demo', kubeconfig: join(dir, '.kube/config'), mode: 'foreground' });
    expect(ready.port).toEqual(expect.any(Number));
    expect(ready.port).toBeGreaterThan(0);
    // Written before "ready" is said, atomically: a script that sees it can read it whole.
    const file = JSON.parse(await readFile(readyFile, 'utf8')) as Record<string, unknown>;
    expect(file).toMatchObject({ port: ready.port, context: 'demo', kubeconfig: ready.kubeconfig, pid: p.proc.pid });
    if (kubectl) {
      const r = await runKubectl(kubectl, ['get', 'pods', '-o', 'name'], { kubeconfig: ready.kubeconfig as string, cacheDir: join(dir, 'cache') });
      expect(r.stdout).toContain('pod/hello-0');
    }

    p.proc.kill('SIGTERM');
    expect(await p.exited).toBe(0);
    const events = jsonLines(p.stdout());
    expect(events.at(-1)).toMatchObject({ event: 'stopped', reason: 'SIGTERM', exitCode: 0 });
    expect(events.map((e) => e.event)).toEqual(expect.arrayContaining(['stage', 'listening', 'kubeconfigMerged', 'ready', 'stopped']));
    expect(existsSync(readyFile)).toBe(false);
    expect(p.stdout() + p.stderr()).not.toContain(emulator.env.AZURE_CLIENT_SECRET!);
  });

  it('a ready file that cannot be written fails the start before the kubeconfig is touched', async () => {
    const dir = await freshHome();
    const kubeconfig = join(dir, '.kube/config');
    await writeFile(kubeconfig, USER_KUBECONFIG, { mode: 0o600 });
    const r = await runArcproxy(
      ['-n', 'demo', '-g', 'demo-rg', '--port', '0', '--ready-file', join(dir, 'missing-dir', 'ready.json')],
      arcproxyEnv(emulator, dir),
    );
    expect(r.code).toBe(ExitCode.badInput);
    expect(r.stderr).toContain('ready file');
    expect(r.stdout).not.toContain('Merged');
    expect(await readFile(kubeconfig, 'utf8')).toBe(USER_KUBECONFIG);
  });

  it('a failing start ends with an error event carrying its code and exit code', async () => {
    const dir = await freshHome();
    const readyFile = join(dir, 'ready.json');
    const r = await runArcproxy(['-n', 'offline', '-g', 'demo-rg', '--port', '0', '-o', 'json', '--ready-file', readyFile], arcproxyEnv(emulator, dir));
    expect(r.code).toBe(ExitCode.clusterOffline);
    const events = jsonLines(r.stdout);
    expect(events.at(-1)).toMatchObject({ event: 'error', code: 'ARCPROXY_CLUSTER_OFFLINE', exitCode: ExitCode.clusterOffline });
    expect(events.some((e) => e.event === 'ready')).toBe(false);
    expect(existsSync(readyFile)).toBe(false);
  });
});

describe('stopping while another writer holds the kubeconfig lock', () => {
  it("SIGINT ends the wait at once with 130, and leaves the kubeconfig and the other writer's lock as they were", async () => {
    const dir = await freshHome();
    const kubeconfig = join(dir, '.kube/config');
    await writeFile(kubeconfig, USER_KUBECONFIG, { mode: 0o600 });
    // kubectl (or another arcproxy) is writing: its lock file is there.
    await writeFile(`${kubeconfig}.lock`, '');
    const p = spawnWatched(['-n', 'demo', '-g', 'demo-rg', '--port', '0', '-o', 'json'], arcproxyEnv(emulator, dir));
    await p.waitFor('stdout', /"stage":"Waiting for [^"]*config\.lock"/);
    p.proc.kill('SIGINT');
    // The lock wait is 10 s; stopping must not wait it out.
    const exited = await Promise.race([p.exited, new Promise<string>((r) => setTimeout(() => r('still waiting after 5 s'), 5_000).unref())]);
    expect(exited).toBe(130);
    expect(jsonLines(p.stdout()).at(-1)).toMatchObject({ event: 'stopped', reason: 'SIGINT', exitCode: 130 });
    expect(await readFile(kubeconfig, 'utf8')).toBe(USER_KUBECONFIG);
    expect(existsSync(`${kubeconfig}.lock`)).toBe(true);
  });
});

describe.runIf(kubectl)('clean exit', () => {
  // kubectl speaks HTTP/2 to arcproxy; DISABLE_HTTP2 makes client-go use HTTP/1.1 (chunked bodies).
  it.each([
    ['HTTP/2', {}],
    ['HTTP/1.1', { DISABLE_HTTP2: '1' }],
  ])(
    'SIGTERM with logs -f and get -w open over %s: ends them cleanly at once (both exit 0, no stream error), exits 0, removes its entries',
    async (_, kenv) => {
      const dir = await freshHome();
      const kubeconfig = join(dir, '.kube/config');
      await writeFile(kubeconfig, USER_KUBECONFIG, { mode: 0o600 });
      const p = track(await startArcproxy(['-n', 'demo', '-g', 'demo-rg', '--port', '0'], arcproxyEnv(emulator, dir)));
      const opts = { kubeconfig, cacheDir: join(dir, 'cache'), env: kenv };
      const logs = track2(spawnKubectl(kubectl!, ['logs', '-f', 'hello-0'], opts));
      // -v=6 logs each response: the list's rows appear before the watch request is sent, so wait for the watch itself.
      const watch = track2(spawnKubectl(kubectl!, ['get', 'pods', '-w', '-v=6'], opts));
      await logs.waitFor(/line \d+.*\n/);
      await watch.waitFor(/watch=true" status="200/);

      const stopping = performance.now();
      expect(await p.stop('SIGTERM')).toBe(0);
      // Not the 5 s grace: open-ended streams are ended, not waited for (the bound leaves room for a loaded CI host).
      expect(performance.now() - stopping).toBeLessThan(4_000);
      // Ended as the apiserver ends a watch: kubectl takes it as the end, not as a failure.
      expect(await logs.exited, logs.output()).toBe(0);
      expect(await watch.exited, watch.output()).toBe(0);
      for (const k of [logs, watch]) expect(k.output()).not.toMatch(/stream error|INTERNAL_ERROR|unexpected EOF|error|refused/i);
      expect(await readFile(kubeconfig, 'utf8')).toBe(USER_KUBECONFIG);
    },
  );

  it("after a SIGKILL, a restart with the same names replaces the stale entries, works, and restores the user's context", async () => {
    const dir = await freshHome();
    const kubeconfig = join(dir, '.kube/config');
    await writeFile(kubeconfig, USER_KUBECONFIG, { mode: 0o600 });
    const env = arcproxyEnv(emulator, dir);
    const first = track(await startArcproxy(['-n', 'demo', '-g', 'demo-rg', '--port', '0'], env));
    expect(await first.stop('SIGKILL')).toBe(137);
    const stale = parseYaml(await readFile(kubeconfig, 'utf8')) as Kubeconfig;
    expect(names(stale.contexts)).toEqual(['prod', 'demo']);

    const second = track(await startArcproxy(['-n', 'demo', '-g', 'demo-rg', '--port', '0'], env));
    const during = parseYaml(await readFile(kubeconfig, 'utf8')) as Kubeconfig;
    expect(names(during.clusters)).toEqual(['prod', 'demo']);
    expect(names(during.contexts)).toEqual(['prod', 'demo']);
    expect(names(during.users)).toEqual(['prod-admin', 'clusterUser_demo-rg_demo']);
    const r = await runKubectl(kubectl!, ['get', 'pods', '-o', 'name'], { kubeconfig, cacheDir: join(dir, 'cache') });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('pod/hello-1');

    expect(await second.stop('SIGTERM')).toBe(0);
    expect(await readFile(kubeconfig, 'utf8')).toBe(USER_KUBECONFIG);
  });
});

describe.runIf(kubectl)('several sessions at once', () => {
  it("two processes on one kubeconfig: both entries work while running, each removes only its own, the user's context comes back", async () => {
    const dir = await freshHome();
    const kubeconfig = join(dir, '.kube/config');
    await writeFile(kubeconfig, USER_KUBECONFIG, { mode: 0o600 });
    const env = arcproxyEnv(emulator, dir);
    // Started together, so their kubeconfig writes race for the lock.
    const [a, b] = await Promise.all([
      startArcproxy(['-n', 'demo', '-g', 'demo-rg', '--port', '0', '--kube-context', 'a'], env).then(track),
      startArcproxy(['-n', 'demo', '-g', 'demo-rg', '--port', '0', '--kube-context', 'b'], env).then(track),
    ]);
    expect(a.port).not.toBe(b.port);
    const during = parseYaml(await readFile(kubeconfig, 'utf8')) as Kubeconfig;
    expect(names(during.contexts).sort()).toEqual(['a', 'b', 'prod']);
    expect(names(during.clusters).sort()).toEqual(['a', 'b', 'prod']);
    const cacheDir = join(dir, 'cache');
    for (const context of ['a', 'b']) {
      const r = await runKubectl(kubectl!, ['--context', context, 'get', 'pods', '-o', 'name'], { kubeconfig, cacheDir });
      expect(r.stderr).toBe('');
      expect(r.stdout).toContain('pod/hello-0');
    }

    // Whichever started first stops first: the other keeps working.
    expect(await a.stop('SIGTERM')).toBe(0);
    const afterA = parseYaml(await readFile(kubeconfig, 'utf8')) as Kubeconfig;
    expect(names(afterA.contexts)).toEqual(['prod', 'b']);
    expect(names(afterA.clusters)).toEqual(['prod', 'b']);
    expect(afterA.users?.length).toBe(2);
    const stillB = await runKubectl(kubectl!, ['--context', 'b', 'get', 'pods', '-o', 'name'], { kubeconfig, cacheDir });
    expect(stillB.stdout).toContain('pod/hello-0');

    expect(await b.stop('SIGTERM')).toBe(0);
    expect(await readFile(kubeconfig, 'utf8')).toBe(USER_KUBECONFIG);
  });
});

describe('under npx', () => {
  /** Whether a process is still there. */
  const alive = (pid: number): boolean => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };

  it("SIGTERM to npx's pid stops arcproxy too: its entries go, its port is free, within the grace", { timeout: 60_000 }, async () => {
    const dir = await freshHome();
    const kubeconfig = join(dir, '.kube/config');
    await writeFile(kubeconfig, USER_KUBECONFIG, { mode: 0o600 });
    const readyFile = join(dir, 'ready.json');
    // As a user in a clone runs it (npx then runs the clone's own bin): npm exec → sh → node.
    const npx = spawn('npx', ['arcproxy', '-n', 'demo', '-g', 'demo-rg', '--port', '0', '--ready-file', readyFile], {
      cwd: ROOT,
      env: { ...process.env, ...emulator.env, KUBECONFIG: kubeconfig },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    npx.stdout!.on('data', (d) => (out += d));
    npx.stderr!.on('data', (d) => (out += d));
    const npxExited = new Promise<void>((resolve) => npx.on('exit', () => resolve()));
    await expect.poll(() => existsSync(readyFile), { timeout: 45_000, interval: 100 }).toBe(true);
    const ready = JSON.parse(await readFile(readyFile, 'utf8')) as { pid: number; port: number };
    processes.push({ kill: () => alive(ready.pid) && process.kill(ready.pid, 'SIGKILL') });
    expect(ready.pid).not.toBe(npx.pid);
    expect(await readFile(kubeconfig, 'utf8')).not.toBe(USER_KUBECONFIG);

    npx.kill('SIGTERM');
    await npxExited;
    const stopping = performance.now();
    await expect.poll(() => alive(ready.pid), { timeout: 5_000, interval: 50 }).toBe(false);
    expect(performance.now() - stopping).toBeLessThan(5_000);
    expect(await readFile(kubeconfig, 'utf8')).toBe(USER_KUBECONFIG);
    expect(existsSync(readyFile)).toBe(false);
    // The port is free again.
    const probe = createServer();
    await new Promise<void>((resolve, reject) => {
      probe.once('error', reject);
      probe.listen(ready.port, '127.0.0.1', () => resolve());
    });
    probe.close();
    expect(out).toContain('the npm process that started arcproxy has exited');
  });
});

describe('run mode', () => {
  let tmp: string;
  afterEach(async () => {
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  // Prints "child-ready" once its handler is in place, so the test signals only then.
  const trapping = `process.on('SIGTERM', () => { process.stdout.write('child got SIGTERM'); process.exit(42); }); process.stdout.write('child-ready\\n'); setInterval(() => {}, 1000);`;

  it('forwards SIGTERM to the command, exits with its code, keeps stdout for it and leaves no file', async () => {
    const dir = await freshHome();
    tmp = await mkdtemp(join(tmpdir(), 'arcproxy-run-'));
    const p = spawnWatched(
      ['-n', 'demo', '-g', 'demo-rg', '--port', '0', '-o', 'json', '--', process.execPath, '-e', trapping],
      arcproxyEnv(emulator, dir, { TMPDIR: tmp }),
    );
    await p.waitFor('stdout', /child-ready\n/);
    // While the command runs, its kubeconfig is a private temporary file.
    const [kdir] = await readdir(tmp);
    expect(kdir).toMatch(/^arcproxy-/);

    p.proc.kill('SIGTERM');
    expect(await p.exited).toBe(42);
    // stdout is the command's alone; arcproxy's events went to stderr.
    expect(p.stdout()).toBe('child-ready\nchild got SIGTERM');
    const events = jsonLines(p.stderr());
    expect(events.find((e) => e.event === 'ready')).toMatchObject({ mode: 'run', context: 'demo' });
    expect(events.at(-1)).toMatchObject({ event: 'stopped', exitCode: 42 });
    expect(await readdir(tmp)).toEqual([]);
    expect(await readdir(join(dir, '.kube'))).toEqual([]);
  });

  it.runIf(kubectl)('without --port picks a free port: two at once beside a proxy on 47011 both work', async () => {
    // 47011 busy, as with a proxy in the foreground (or another job's): held here unless it already is.
    const holder = createServer();
    await new Promise<void>((resolve) => {
      holder.once('error', () => resolve());
      holder.listen(47011, '127.0.0.1', () => resolve());
    });
    try {
      const env = arcproxyEnv(emulator, await freshHome());
      const runs = await Promise.all(
        [0, 1].map(() => runArcproxy(['-n', 'demo', '-g', 'demo-rg', '-o', 'json', '--', kubectl!.path, 'get', 'pods', '-o', 'name'], env, 60_000)),
      );
      for (const r of runs) {
        expect(r.code, r.stderr).toBe(0);
        expect(r.stdout).toContain('pod/hello-0');
        const ready = jsonLines(
          r.stderr
            .split('\n')
            .filter((l) => l.startsWith('{'))
            .join('\n'),
        ).find((e) => e.event === 'ready');
        expect(ready?.port).toEqual(expect.any(Number));
        expect(ready?.port).not.toBe(47011);
      }
    } finally {
      holder.close();
    }
  });

  it('a command ended by the forwarded signal gives 128 + its number; status lines go to stderr', async () => {
    const dir = await freshHome();
    tmp = await mkdtemp(join(tmpdir(), 'arcproxy-run-'));
    const idle = `process.stdout.write('child-ready\\n'); setInterval(() => {}, 1000);`;
    const p = spawnWatched(['-n', 'demo', '-g', 'demo-rg', '--port', '0', '--', process.execPath, '-e', idle], arcproxyEnv(emulator, dir, { TMPDIR: tmp }));
    await p.waitFor('stdout', /child-ready\n/);
    p.proc.kill('SIGTERM');
    expect(await p.exited).toBe(143);
    expect(p.stdout()).toBe('child-ready\n');
    expect(p.stderr()).toContain('Proxy is listening on port');
    expect(p.stderr()).not.toContain('Press Ctrl+C');
    expect(await readdir(tmp)).toEqual([]);
  });
});
