/**
 * The product's main job, end to end: the emulator, the real arcproxy executable, and real kubectl
 * (every version this machine has) through the kubeconfig arcproxy wrote, in Entra mode and in
 * service-account Token mode.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Emulator } from '../../src/emulator/index.js';
import { findPrincipal } from '../../src/emulator/seed.js';
import { startTestEmulator, arcproxyEnv } from '../helpers/emulator.js';
import { startArcproxy, tempHome, type ArcproxyProcess } from '../helpers/arcproxy.js';
import { availableKubectls, echoThrough, runKubectl, spawnKubectl, type KubectlBinary } from '../helpers/kubectl.js';

const kubectls = availableKubectls();

/** The first line arcproxy's request log (--debug, stderr) starts with `prefix`, once it is written. */
function logLine(p: ArcproxyProcess, prefix: string): Promise<string> {
  return new Promise((resolve) => {
    const check = (): boolean => {
      const line = p
        .stderr()
        .split('\n')
        .find((l, i, all) => l.startsWith(prefix) && i < all.length - 1);
      if (line === undefined) return false;
      p.proc.stderr!.off('data', onData);
      resolve(line);
      return true;
    };
    // Registered after the reporter's own listener, so stderr() already holds this chunk.
    const onData = (): void => void check();
    if (!check()) p.proc.stderr!.on('data', onData);
  });
}

describe.each([
  { mode: 'Entra', token: false },
  { mode: 'Token', token: true },
])('arcproxy in $mode mode', ({ token }) => {
  let emulator: Emulator;
  let home: { dir: string; cleanup: () => Promise<void> };
  let proxy: ArcproxyProcess;
  let kubeconfig: string;
  let cache: string;

  beforeAll(async () => {
    emulator = await startTestEmulator();
    home = await tempHome();
    cache = await mkdtemp(join(tmpdir(), 'arcproxy-kcache-'));
    // --debug: the request log says which HTTP version kubectl spoke.
    const args = ['-n', 'demo', '-g', 'demo-rg', '--port', '0', '--debug', ...(token ? ['--token', emulator.env.ARCPROXY_EMULATOR_SA_TOKEN!] : [])];
    proxy = await startArcproxy(args, arcproxyEnv(emulator, home.dir));
    kubeconfig = join(home.dir, '.kube/config');
  });

  afterAll(async () => {
    await proxy?.stop();
    await emulator?.close();
    await home?.cleanup();
    await rm(cache, { recursive: true, force: true });
  });

  it('prints az-style status lines and writes a kubeconfig that verifies TLS', async () => {
    expect(proxy.stdout()).toContain(`Proxy is listening on port ${proxy.port}`);
    expect(proxy.stdout()).toContain(`Merged "demo" as current context in ${kubeconfig}`);
    expect(proxy.stdout()).toContain(`Start sending kubectl requests on 'demo' context using kubeconfig at ${kubeconfig}`);
    const text = await readFile(kubeconfig, 'utf8');
    expect(text).toContain('certificate-authority-data');
    expect(text).not.toMatch(/insecure-skip-tls-verify/);
    expect(text).toMatch(new RegExp(`server: https://127\\.0\\.0\\.1:${proxy.port}/proxies/[0-9a-f]{64}`));
  });

  describe.each(kubectls)('kubectl $label', (bin: KubectlBinary) => {
    const kc = (args: string[], env?: NodeJS.ProcessEnv) => runKubectl(bin, args, { kubeconfig, cacheDir: join(cache, bin.label), ...(env ? { env } : {}) });

    it('get pods lists the seeded pods', async () => {
      const r = await kc(['get', 'pods']);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      for (const p of ['hello-0', 'hello-1', 'hello-2']) expect(r.stdout).toMatch(new RegExp(`^${p}\\s+1/1\\s+Running`, 'm'));
    });

    it('speaks HTTP/2 to arcproxy for ordinary requests', async () => {
      // A name no other test asks for, so the log line is this kubectl's.
      const name = `h2-probe-${bin.label.replace(/\W/g, '')}-${token ? 't' : 'e'}`;
      const logged = logLine(proxy, `GET /api/v1/namespaces/default/pods/${name} `);
      const r = await kc(['get', 'pod', name]);
      expect(r.stderr).toContain('NotFound');
      // The request line ends with the HTTP version kubectl spoke, then the request id sent upstream.
      expect(await logged).toMatch(/ 404 .* HTTP\/2\.0 id=[0-9a-f-]{36}$/);
    });

    it('get pods -w shows a pod created during the watch', async () => {
      const name = `watched-${bin.label.replace(/\W/g, '')}-${token ? 't' : 'e'}`;
      const watch = spawnKubectl(bin, ['get', 'pods', '-w'], { kubeconfig, cacheDir: join(cache, bin.label) });
      try {
        await watch.waitFor(/hello-2/);
        emulator.clusters[0]!.apiserver.createPod('default', name);
        await watch.waitFor(new RegExp(name));
      } finally {
        await watch.kill();
      }
    });

    it('logs -f follows new lines', async () => {
      const logs = spawnKubectl(bin, ['logs', '-f', 'hello-0'], { kubeconfig, cacheDir: join(cache, bin.label) });
      try {
        const first = await logs.waitFor(/line (\d+)/);
        const n = Number(first[1]);
        await logs.waitFor(new RegExp(`line ${n + 1}\\b`));
      } finally {
        await logs.kill();
      }
    });

    it('exec runs a command over WebSocket and over SPDY', async () => {
      const ws = await kc(['exec', 'hello-0', '--', 'echo', 'through', 'the', 'relay']);
      expect(ws.stdout).toBe('through the relay\n');
      expect(ws.code).toBe(0);
      const spdy = await kc(['exec', 'hello-0', '--', 'echo', 'spdy'], { KUBECTL_REMOTE_COMMAND_WEBSOCKETS: 'false' });
      expect(spdy.stdout).toBe('spdy\n');
      const failing = await kc(['exec', 'hello-0', '--', 'sh', '-c', 'exit 3']);
      expect(failing.code).toBe(3);
    });

    it.each([
      { transport: 'WebSocket', env: {} },
      { transport: 'SPDY', env: { KUBECTL_PORT_FORWARD_WEBSOCKETS: 'false' } },
    ])('port-forward echoes bytes ($transport)', async ({ env }) => {
      const pf = spawnKubectl(bin, ['port-forward', 'pod/hello-1', ':8080'], { kubeconfig, cacheDir: join(cache, bin.label), env });
      try {
        const m = await pf.waitFor(/Forwarding from 127\.0\.0\.1:(\d+) -> 8080/);
        const port = Number(m[1]);
        expect(await echoThrough(port, 'ping through arcproxy\n')).toBe('ping through arcproxy\n');
        expect(await echoThrough(port, 'second connection\n')).toBe('second connection\n');
      } finally {
        await pf.kill();
      }
    });

    it('auth whoami names the caller the cluster sees', async () => {
      const r = await kc(['auth', 'whoami']);
      expect(r.code).toBe(0);
      if (token) {
        expect(r.stdout).toContain('system:serviceaccount:default:demo-admin');
      } else {
        const ci = findPrincipal(emulator.seed, 'ci');
        expect(r.stdout).toContain(ci.objectId);
        for (const g of ci.groups ?? []) expect(r.stdout).toContain(g);
      }
    });

    it('auth can-i answers from the cluster RBAC', async () => {
      const r = await kc(['auth', 'can-i', 'list', 'pods']);
      expect(r.stdout.trim()).toBe('yes');
    });
  });
});
