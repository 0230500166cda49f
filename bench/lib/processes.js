// The processes under test: the emulator (a child running dist/emulator) and arcproxy itself,
// started from bin/arcproxy.js exactly as a user would start it.
import { execFileSync, fork, spawn } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const ARCPROXY_BIN = join(ROOT, 'bin', 'arcproxy.js');
const SEA_EXE = join(ROOT, 'dist', 'sea', process.platform === 'win32' ? 'arcproxy.exe' : 'arcproxy');

/**
 * The user's own commands, for launch-to-ready: the bin as a shell runs it (its shebang starts
 * Node), `npx arcproxy` in the clone (npm's start-up, then the same bin), and the single executable.
 * `group`: npx's npm is the child; the whole process group is signalled so arcproxy gets the stop.
 */
export const LAUNCHERS = {
  bin: { file: ARCPROXY_BIN, args: [] },
  npx: { file: 'npx', args: ['arcproxy'], cwd: ROOT, group: true },
  executable: { file: SEA_EXE, args: [] },
};

/** Builds the single executable when it is missing or older than the bundle (scripts/build-sea.mjs, a few seconds). */
export function ensureSingleExecutable() {
  const mtime = (f) => (existsSync(f) ? statSync(f).mtimeMs : 0);
  if (mtime(SEA_EXE) >= mtime(join(ROOT, 'dist', 'bundle', 'main.cjs'))) return;
  execFileSync(process.execPath, [join(ROOT, 'scripts', 'build-sea.mjs')], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
}

/** @param {{ relayLatencyMs?: number }} [opts] relayLatencyMs: seeded, so the relay's delay stage carries every connection */
export function startEmulatorProcess(opts = {}) {
  return new Promise((resolve, reject) => {
    const env = { ...process.env, ...(opts.relayLatencyMs !== undefined ? { ARCPROXY_BENCH_RELAY_LATENCY_MS: String(opts.relayLatencyMs) } : {}) };
    const child = fork(fileURLToPath(new URL('./emulator-child.js', import.meta.url)), [], { env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const timer = setTimeout(() => reject(new Error('the emulator did not start within 30 s')), 30_000);
    child.once('exit', (code) => reject(new Error(`the emulator exited early (${code})`)));
    child.once('message', (/** @type {object} */ m) => {
      clearTimeout(timer);
      child.removeAllListeners('exit');
      resolve({
        ...m,
        child,
        probe: relayProbe(child),
        close: () =>
          new Promise((res) => {
            if (child.exitCode !== null) return res();
            const kill = setTimeout(() => child.kill('SIGKILL'), 8000);
            child.once('exit', () => {
              clearTimeout(kill);
              res();
            });
            child.send({ type: 'close' });
          }),
      });
    });
  });
}

/**
 * The emulated relay's delivery probe over IPC: arm(marker) before an event, collect() once the
 * event has arrived: { fromListenerNs, toSenderNs }, hrtime ns per relayed connection, ascending.
 */
function relayProbe(child) {
  let next = 0;
  const waiting = new Map();
  child.on('message', (/** @type {{ type?: string, id?: number, times?: object }} */ m) => {
    if (m?.type !== 'probe') return;
    waiting.get(m.id)?.(m.times);
    waiting.delete(m.id);
  });
  const ask = (msg) =>
    new Promise((resolve) => {
      const id = ++next;
      waiting.set(id, resolve);
      child.send({ ...msg, id });
    });
  return { arm: (marker) => ask({ type: 'probe-arm', marker }), collect: () => ask({ type: 'probe-collect' }) };
}

let launches = 0;
// Whatever happens to the benchmark (error, time limit), no arcproxy it started outlives it.
const live = new Set();
process.on('exit', () => {
  for (const kill of live) kill('SIGKILL');
});

/**
 * Spawns `node [nodeArgs] bin/arcproxy.js -n demo -g demo-rg --port 0 --token SA -f FILE` (or,
 * with `launcher`, one of LAUNCHERS with the same arguments; `bin`: another tree's bin/arcproxy.js) and resolves once it prints
 * "Press Ctrl+C", with the launch-to-ready time and what a client needs from the kubeconfig it wrote.
 */
export async function launchArcproxy({ emulatorEnv, token, dir, nodeArgs = [], extraEnv = {}, launcher = undefined, bin = ARCPROXY_BIN }) {
  const kubeconfig = join(dir, `kubeconfig-${++launches}`);
  const arcArgs = ['-n', 'demo', '-g', 'demo-rg', '--port', '0', '-f', kubeconfig, ...(token ? ['--token', token] : [])];
  const how = launcher ? LAUNCHERS[launcher] : { file: process.execPath, args: [...nodeArgs, bin] };
  const env = { ...process.env, ...emulatorEnv, ...extraEnv, CI: '1' };
  delete env.KUBECONFIG;
  const t0 = process.hrtime.bigint();
  const child = spawn(how.file, [...how.args, ...arcArgs], { env, cwd: how.cwd, detached: Boolean(how.group), stdio: ['ignore', 'pipe', 'pipe'] });
  // npx: npm and arcproxy both, as a terminal's Ctrl+C reaches them.
  const signal = (sig) => {
    try {
      if (how.group) process.kill(-child.pid, sig);
      else child.kill(sig);
    } catch {
      // already gone
    }
  };
  live.add(signal);
  child.once('exit', () => live.delete(signal));
  let out = '';
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  const readyMs = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      signal('SIGKILL');
      reject(new Error(`arcproxy not ready within 20 s:\n${out}\n${err}`));
    }, 20_000);
    child.stdout.on('data', (d) => {
      out += d;
      if (out.includes('Press Ctrl+C')) {
        clearTimeout(timer);
        resolve(Number(process.hrtime.bigint() - t0) / 1e6);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`arcproxy exited (${code}) before ready:\n${out}\n${err}`));
    });
  });
  child.stdout.resume();
  child.removeAllListeners('exit');
  const doc = parseYaml(await readFile(kubeconfig, 'utf8'));
  const ctx = doc.contexts.find((c) => c.name === doc['current-context'])?.context ?? doc.contexts[0].context;
  const cluster = doc.clusters.find((c) => c.name === ctx.cluster).cluster;
  const user = doc.users.find((u) => u.name === ctx.user).user;
  const b64 = (s) => Buffer.from(s, 'base64').toString('utf8');
  return {
    pid: child.pid,
    child,
    kubeconfig,
    readyMs,
    server: cluster.server,
    ca: b64(cluster['certificate-authority-data']),
    cert: b64(user['client-certificate-data']),
    key: b64(user['client-key-data']),
    token: user.token,
    stderr: () => err,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve(child.exitCode);
        const kill = setTimeout(() => signal('SIGKILL'), 10_000);
        child.once('exit', (code) => {
          clearTimeout(kill);
          resolve(code);
        });
        signal('SIGTERM');
      }),
  };
}

/** Time to spawn and exit an empty Node process: the floor under any launch time. */
export function nodeStartupMs() {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const c = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
    c.once('error', reject);
    c.once('exit', () => resolve(Number(process.hrtime.bigint() - t0) / 1e6));
  });
}
