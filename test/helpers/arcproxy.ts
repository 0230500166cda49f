/**
 * Drives the real `arcproxy` executable (bin/arcproxy.js → dist/bundle/, built by `npm test`) as a user
 * would: spawned with an environment, ready when it prints az's "Start sending kubectl requests"
 * line, stopped with a signal.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const BIN = join(ROOT, 'bin/arcproxy.js');

export function assertBuilt(): void {
  if (!existsSync(join(ROOT, 'dist/bundle/main.cjs'))) {
    throw new Error('dist/ is missing: run `npm run build` (test/global-setup.ts does it when src/ is newer) before the e2e tests');
  }
}

export interface ArcproxyProcess {
  proc: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  port: number;
  /** Resolves with the exit code once the process has ended. */
  exited: Promise<number>;
  stop(signal?: NodeJS.Signals): Promise<number>;
}

export interface SpawnResult {
  code: number;
  stdout: string;
  stderr: string;
}

function baseEnv(env: Record<string, string | undefined>): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, ...env };
}

/** Called with all of stderr so far after each chunk: a test reacts to what arcproxy asks (a device code). */
export type StderrWatcher = (stderrSoFar: string) => void;

/** Runs arcproxy to completion (bounded). */
export function runArcproxy(args: string[], env: Record<string, string | undefined>, timeoutMs = 30_000, onStderr?: StderrWatcher): Promise<SpawnResult> {
  assertBuilt();
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [BIN, ...args], { env: baseEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (d) => (stdout += d));
    proc.stderr.on('data', (d) => {
      stderr += d;
      onStderr?.(stderr);
    });
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`arcproxy ${args.join(' ')} did not finish in ${timeoutMs} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, timeoutMs);
    proc.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr });
    });
  });
}

/** Starts arcproxy in foreground mode and waits until it says kubectl may start. */
export async function startArcproxy(
  args: string[],
  env: Record<string, string | undefined>,
  timeoutMs = 30_000,
  onStderr?: StderrWatcher,
): Promise<ArcproxyProcess> {
  assertBuilt();
  const proc = spawn(process.execPath, [BIN, ...args], { env: baseEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  const exited = new Promise<number>((resolve) => proc.on('exit', (code, signal) => resolve(code ?? (signal === 'SIGKILL' ? 137 : 128))));
  const ready = new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`arcproxy not ready in ${timeoutMs} ms\nstdout: ${out}\nstderr: ${err}`)), timeoutMs);
    const check = () => {
      const m = /Proxy is listening on port (\d+)/.exec(out + err);
      if (m && /Press Ctrl\+C to close proxy\./.test(out + err)) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    };
    proc.stdout!.on('data', (d) => {
      out += d;
      check();
    });
    proc.stderr!.on('data', (d) => {
      err += d;
      onStderr?.(err);
      check();
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`arcproxy exited with ${code} before it was ready\nstdout: ${out}\nstderr: ${err}`));
    });
  });
  const port = await ready;
  return {
    proc,
    port,
    exited,
    stdout: () => out,
    stderr: () => err,
    stop: async (signal = 'SIGTERM') => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      return exited;
    },
  };
}

/** A temporary HOME so nothing touches the developer's ~/.kube or ~/.azure. */
export async function tempHome(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'arcproxy-home-'));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export type JsonEvent = { event: string; [k: string]: unknown };

export interface JsonArcproxy {
  proc: ChildProcess;
  exited: Promise<number>;
  /** The JSON lines of stdout so far. */
  events: () => JsonEvent[];
  stdout: () => string;
  stderr: () => string;
  raw: () => string;
  /** SIGTERM, then the exit code. */
  stop: () => Promise<number>;
}

/** `arcproxy -n demo -g demo-rg --port 0 --output json`, resolved once its "ready" event is out (killed if it never is). */
export async function startArcproxyJson(env: Record<string, string | undefined>): Promise<JsonArcproxy> {
  assertBuilt();
  const proc = spawn(process.execPath, [BIN, '-n', 'demo', '-g', 'demo-rg', '--port', '0', '--output', 'json'], {
    env: baseEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  proc.stderr.on('data', (d) => (err += d));
  const exited = new Promise<number>((resolve) => proc.on('exit', (code) => resolve(code ?? 1)));
  const stop = async () => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
    return exited;
  };
  const events = () =>
    out
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as JsonEvent);
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`not ready in 30 s\nstdout: ${out}\nstderr: ${err}`)), 30_000);
      proc.stdout.on('data', (d) => {
        out += d;
        if (events().some((e) => e.event === 'ready')) {
          clearTimeout(timer);
          resolve();
        }
      });
      void exited.then((code) => {
        clearTimeout(timer);
        reject(new Error(`arcproxy exited ${code} before ready\nstdout: ${out}\nstderr: ${err}`));
      });
    });
  } catch (e) {
    proc.kill('SIGKILL');
    throw e;
  }
  return { proc, exited, events, stdout: () => out, stderr: () => err, raw: () => out + err, stop };
}
