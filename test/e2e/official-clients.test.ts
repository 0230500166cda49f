/**
 * The official clients people script against a cluster, through the real arcproxy binary, against
 * `arcproxy emulator --log`: @kubernetes/client-node (watch, log follow, exec, port-forward) and the
 * Python `kubernetes` client (the same four; it sends `watch=True`, `follow=True`, `stdout=True` and
 * port-forwards over v4.channel.k8s.io). Both use the kubeconfig arcproxy writes: its CA, its client
 * certificate, no insecure flags. Then the emulator's request log is checked: one line per request
 * at the apiserver and the agent, user names, never a credential.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { CoreV1Api, Exec, KubeConfig, Log, PortForward, Watch, type V1Pod, type V1Status } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, startArcproxy, type ArcproxyProcess } from '../helpers/arcproxy.js';
import { parseEnvFile, startEmulatorProcess, type RunningEmulator } from '../helpers/emulator-process.js';
import { defaultSeed } from '../../src/emulator/seed.js';

/** Debian's python3-kubernetes lives under the system interpreter, not pyenv's python3 on PATH. */
const PYTHON = '/usr/bin/python3';

function run(cmd: string, args: string[], timeoutMs = 60_000): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const proc = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (d) => (stdout += d));
    proc.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`${cmd} ${args.join(' ')} did not finish in ${timeoutMs} ms\n${stdout}\n${stderr}`));
    }, timeoutMs);
    proc.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    proc.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 1, stdout, stderr });
    });
  });
}

async function pythonClientAvailable(): Promise<boolean> {
  if (!existsSync(PYTHON)) return false;
  return (await run(PYTHON, ['-c', 'import kubernetes'])).code === 0;
}

/** A Writable that keeps what it is given. */
function collector(): Writable & { text: () => string } {
  const chunks: Buffer[] = [];
  const w = new Writable({
    write(chunk: Buffer, _e, cb) {
      chunks.push(Buffer.from(chunk));
      cb();
    },
  });
  return Object.assign(w, { text: () => Buffer.concat(chunks).toString() });
}

let dir: string;
let emulator: RunningEmulator;
let proxy: ArcproxyProcess;
let env: Record<string, string>;
let kubeconfig: string;
let kc: KubeConfig;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'arcproxy-official-clients-'));
  const envFile = join(dir, 'env');
  emulator = await startEmulatorProcess(['--log', '--write-env', envFile, '--state-dir', join(dir, 'state')]);
  env = parseEnvFile(await readFile(envFile, 'utf8'));
  const home = join(dir, 'home');
  kubeconfig = join(home, '.kube', 'config');
  proxy = await startArcproxy(['-n', 'demo', '-g', 'demo-rg', '--port', '0'], { ...env, HOME: home, KUBECONFIG: kubeconfig });
  kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
});

afterAll(async () => {
  await proxy?.stop();
  if (emulator && emulator.proc.exitCode === null) emulator.proc.kill('SIGKILL');
  await rm(dir, { recursive: true, force: true });
});

describe('@kubernetes/client-node through arcproxy', () => {
  it('uses the kubeconfig arcproxy wrote: its CA and client certificate, nothing insecure', () => {
    const cluster = kc.getCurrentCluster()!;
    expect(cluster.server).toMatch(/^https:\/\/127\.0\.0\.1:\d+\//);
    expect(cluster.skipTLSVerify).toBe(false);
    expect(cluster.caData ?? cluster.caFile).toBeTruthy();
  });

  it('watches pods', async () => {
    const events: [string, string][] = [];
    const controller = await new Watch(kc).watch(
      '/api/v1/namespaces/default/pods',
      {},
      (type: string, obj: V1Pod) => events.push([type, obj.metadata!.name!]),
      () => undefined,
    );
    await expect.poll(() => events.length, { timeout: 10_000 }).toBeGreaterThanOrEqual(3);
    expect(events).toContainEqual(['ADDED', 'hello-0']);
    controller.abort();
  });

  it('follows a log', async () => {
    const out = collector();
    const controller = await new Log(kc).log('default', 'hello-0', 'hello', out, { follow: true, tailLines: 0 });
    await expect.poll(() => out.text(), { timeout: 10_000 }).toMatch(/hello from hello-0: line \d+\n/);
    controller.abort();
  });

  it('lists pods with the typed API', async () => {
    const pods = await kc.makeApiClient(CoreV1Api).listNamespacedPod({ namespace: 'default' });
    expect(pods.items.map((p) => p.metadata?.name)).toContain('hello-0');
  });

  it('execs a command (v5.channel.k8s.io) and gets its output and status', async () => {
    const stdout = collector();
    const stderr = collector();
    const status = await new Promise<V1Status>((resolve, reject) => {
      new Exec(kc).exec('default', 'hello-0', 'hello', ['echo', 'hello from client-node exec'], stdout, stderr, null, false, resolve).catch(reject);
    });
    expect(status.status).toBe('Success');
    await expect.poll(() => stdout.text()).toBe('hello from client-node exec\n');
  });

  it('port-forwards to the pod echo port (v4.channel.k8s.io)', async () => {
    const output = collector();
    const errors = collector();
    const input = new PassThrough();
    const ws = await new PortForward(kc).portForward('default', 'hello-0', [8080], output, errors, input);
    input.write('client-node port-forward payload');
    await expect.poll(() => output.text(), { timeout: 10_000 }).toBe('client-node port-forward payload');
    expect(errors.text()).toBe('');
    input.end();
    (ws as { close?: () => void }).close?.();
  });
});

describe('the Python kubernetes client through arcproxy', () => {
  it('watches, follows a log, execs and port-forwards', async () => {
    if (!(await pythonClientAvailable())) {
      if (process.env.CI) throw new Error(`the Python kubernetes client is missing in CI: apt-get install -y python3-kubernetes (${PYTHON})`);
      console.warn(`\n!!! SKIPPED: the Python kubernetes client test — ${PYTHON} cannot import kubernetes (apt-get install -y python3-kubernetes)\n`);
      return;
    }
    const r = await run(PYTHON, [join(ROOT, 'test/e2e/clients/python-client.py'), kubeconfig], 45_000);
    expect(r.code, r.stderr).toBe(0);
    const seen = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(seen.watch).toEqual(['ADDED', expect.stringMatching(/^hello-\d$/)]);
    expect(seen.log).toMatch(/^hello from hello-0: line \d+$/);
    expect(seen.exec).toBe('hello from python exec\n');
    expect(seen.portforward).toBe('python port-forward payload');
    expect(seen.portforward_error).toBeNull();
  }, 60_000);
});

describe('arcproxy emulator --log', () => {
  it('logged each request at the apiserver and the agent, with user names and no credential', async () => {
    await proxy.stop();
    emulator.proc.kill('SIGINT');
    expect(await emulator.exited).toBe(0);
    const log = emulator.stderr();
    const lines = log.split('\n').filter(Boolean);
    const line = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (apiserver|agent) (\S+) ([A-Z]+) (\S+) (\d{3}|-) \d+ms$/;
    for (const l of lines) expect(l).toMatch(line);
    for (const component of ['apiserver', 'agent']) {
      expect(lines.some((l) => l.includes(` ${component} `) && / GET \/api\/v1\/namespaces\/default\/pods\?.*watch=true/.test(l))).toBe(true);
      expect(lines.some((l) => l.includes(` ${component} `) && / GET \/api\/v1\/namespaces\/default\/pods\/hello-0\/exec\?.* 101 /.test(l))).toBe(true);
      expect(
        lines.some((l) => l.includes(` ${component} `) && / GET \/api\/v1\/namespaces\/default\/pods\/hello-0\/portforward\?ports=8080 101 /.test(l)),
      ).toBe(true);
    }
    // Never a credential: not the seeded secrets and tokens, not a JWT, not a SAS, not an Authorization value.
    const seed = defaultSeed();
    const secrets = [
      env.AZURE_CLIENT_SECRET,
      env.ARCPROXY_EMULATOR_NOACCESS_CLIENT_SECRET,
      env.ARCPROXY_EMULATOR_ADMIN_KEY,
      env.ARCPROXY_EMULATOR_SA_TOKEN,
      ...seed.resourceGroups.flatMap((rg) => rg.clusters.flatMap((c) => c.kubernetes?.serviceAccounts.map((sa) => sa.token) ?? [])),
    ].filter((s): s is string => Boolean(s));
    expect(secrets.length).toBeGreaterThan(3);
    for (const s of secrets) expect(log).not.toContain(s);
    expect(log).not.toMatch(/eyJ[\w-]{8,}\.[\w-]{8,}/);
    expect(log).not.toMatch(/SharedAccessSignature|Bearer /i);
  });
});
