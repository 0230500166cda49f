/**
 * Real kubectl against the emulated apiserver's exec and port-forward: every available kubectl,
 * each over its default transport (WebSocket from 1.30/1.31 on) and forced SPDY/3.1.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createApiServer } from '../../src/emulator/apiserver/index.js';
import { writeDirectKubeconfig } from '../helpers/direct-kubeconfig.js';
import { createStreamingHandlers } from '../../src/emulator/apiserver/streaming/index.js';
import type { StreamingHandlers } from '../../src/emulator/apiserver/types.js';
import { defaultSeed, type SeedKubernetes } from '../../src/emulator/seed.js';
import { createCertificateAuthority, issueServerCertificate } from '../../src/pki/certs.js';
import { availableKubectls, type KubectlBinary } from '../helpers/kubectl.js';

const KUBECTL_TIMEOUT_MS = 20_000;
const kubectls = availableKubectls();

let dir: string;
let kubeconfig: string;
let close: () => Promise<void> | void;
let upgrades: string[] = [];

beforeAll(async () => {
  const kubernetes = defaultSeed().resourceGroups[0]!.clusters.find((c) => c.name === 'demo')!.kubernetes as SeedKubernetes;
  const token = kubernetes.serviceAccounts.find((sa) => sa.name === 'demo-admin')!.token;
  const ca = await createCertificateAuthority('streaming-e2e-ca');
  const tls = await issueServerCertificate(ca, { commonName: 'localhost', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
  const handlers = createStreamingHandlers();
  // Record which upgrade each call used, so a test knows it exercised the transport it claims.
  const streaming: StreamingHandlers = {
    exec: (req, socket, head, exec) => {
      upgrades.push(String(req.headers.upgrade).toLowerCase());
      handlers.exec(req, socket, head, exec);
    },
    portForward: (req, socket, head, request) => {
      upgrades.push(String(req.headers.upgrade).toLowerCase());
      handlers.portForward(req, socket, head, request);
    },
  };
  const server = await createApiServer({ kubernetes, tls, streaming });
  close = () => server.close();
  dir = await mkdtemp(join(tmpdir(), 'arcproxy-streaming-e2e-'));
  kubeconfig = join(dir, 'kubeconfig');
  await writeDirectKubeconfig(kubeconfig, { server: server.url, ca: ca.cert, contexts: [{ name: 'demo', token }] });
});

afterAll(async () => {
  await close?.();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/**
 * Runs kubectl with optional piped stdin; killed at the timeout. (runKubectl appends its flags
 * after the args, which puts them behind exec's "--" and into the remote command.)
 */
async function kubectl(bin: KubectlBinary, args: string[], opts: { env: NodeJS.ProcessEnv; cacheDir: string; input?: string }) {
  const child = spawn(bin.path, [`--kubeconfig=${kubeconfig}`, `--cache-dir=${opts.cacheDir}`, ...args], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...opts.env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), KUBECTL_TIMEOUT_MS);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdin.on('error', () => undefined); // kubectl may exit before reading it all
  child.stdin.end(opts.input ?? '');
  const [code] = (await once(child, 'close')) as [number | null];
  clearTimeout(timer);
  return { code, stdout, stderr };
}

/** Sends bytes through a forwarded local port and resolves with the echo once it is complete. */
async function roundTrip(port: number, payload: string): Promise<string> {
  const socket = connect(port, '127.0.0.1');
  try {
    return await new Promise<string>((resolve, reject) => {
      let got = '';
      const timer = setTimeout(() => reject(new Error(`echo timed out; got ${JSON.stringify(got)}`)), 10_000);
      socket.on('connect', () => socket.write(payload));
      socket.on('data', (d: Buffer) => {
        got += d.toString();
        if (got.length >= payload.length) {
          clearTimeout(timer);
          resolve(got);
        }
      });
      socket.on('close', () => {
        clearTimeout(timer);
        reject(new Error(`connection closed; got ${JSON.stringify(got)}`));
      });
      socket.on('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
  } finally {
    socket.destroy();
  }
}

const MODES = [
  { name: 'default transport', spdy: false, exec: {}, portForward: {} },
  { name: 'SPDY/3.1', spdy: true, exec: { KUBECTL_REMOTE_COMMAND_WEBSOCKETS: 'false' }, portForward: { KUBECTL_PORT_FORWARD_WEBSOCKETS: 'false' } },
] as const;

/** kubectl 1.28 only speaks SPDY; 1.30+ exec and 1.31+ port-forward default to WebSocket. */
function expectedUpgrade(bin: KubectlBinary, spdy: boolean): string | undefined {
  if (spdy || bin.label === '1.28') return 'spdy/3.1';
  return bin.label === 'env' ? undefined : 'websocket';
}

if (kubectls.length === 0) it.skip('no kubectl binary on this machine', () => undefined);

describe.each(kubectls.map((k) => [k.label, k] as const))('kubectl %s', (_label, bin) => {
  describe.each(MODES.map((m) => [m.name, m] as const))('over %s', (_mode, mode) => {
    const cacheDir = () => join(dir, `cache-${bin.label}`);
    beforeEach(() => {
      upgrades = [];
    });
    afterEach((ctx) => {
      const want = expectedUpgrade(bin, mode.spdy);
      if (want && ctx.task.result?.state !== 'fail')
        expect(upgrades.length > 0 && upgrades.every((u) => u === want), `upgrades seen: ${upgrades.join(', ')}`).toBe(true);
    });

    it('exec echo prints to stdout', async () => {
      const r = await kubectl(bin, ['exec', 'hello-0', '--', 'echo', 'hello'], { env: mode.exec, cacheDir: cacheDir() });
      expect(r.stderr).toBe('');
      expect(r.stdout).toBe('hello\n');
      expect(r.code).toBe(0);
    });

    it('exec -i cat copies piped stdin back', async () => {
      const input = 'first line\nsecond line\n'.repeat(200);
      const r = await kubectl(bin, ['exec', '-i', 'hello-0', '--', 'cat'], { env: mode.exec, cacheDir: cacheDir(), input });
      expect(r.stdout).toBe(input);
      expect(r.code).toBe(0);
    });

    it('exec sh -c "exit 3" makes kubectl exit 3', async () => {
      const r = await kubectl(bin, ['exec', 'hello-0', '--', 'sh', '-c', 'exit 3'], { env: mode.exec, cacheDir: cacheDir() });
      expect(r.stderr).toContain('command terminated with exit code 3');
      expect(r.code).toBe(3);
    });

    it('port-forward echoes bytes through two connections in sequence', async () => {
      const child = spawn(bin.path, ['port-forward', 'pod/hello-0', ':8080', `--kubeconfig=${kubeconfig}`, `--cache-dir=${cacheDir()}`], {
        env: { PATH: process.env.PATH, HOME: process.env.HOME, ...mode.portForward },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const timer = setTimeout(() => child.kill('SIGKILL'), KUBECTL_TIMEOUT_MS);
      let stdout = '';
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      try {
        const localPort = await new Promise<number>((resolve, reject) => {
          child.stdout.on('data', (d: Buffer) => {
            stdout += d.toString();
            const m = /Forwarding from 127\.0\.0\.1:(\d+) -> 8080/.exec(stdout);
            if (m) resolve(Number(m[1]));
          });
          child.on('exit', (code) => reject(new Error(`kubectl port-forward exited (${code}): ${stderr}`)));
        });
        expect(await roundTrip(localPort, 'first connection says hello')).toBe('first connection says hello');
        expect(await roundTrip(localPort, 'second connection, more bytes: ' + 'x'.repeat(5000))).toBe('second connection, more bytes: ' + 'x'.repeat(5000));
        expect(child.exitCode).toBeNull();
        expect(stderr).not.toMatch(/error/i);
      } finally {
        clearTimeout(timer);
        if (child.exitCode === null && child.signalCode === null) {
          child.kill('SIGTERM');
          await once(child, 'close');
        }
      }
    });
  });
});
