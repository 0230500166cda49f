/**
 * A proxy you can leave running: relay drops in the middle of a watch and of `logs -f` (both ride
 * through; the minute of load and faults is arcproxy.ride-through.test.ts), ARM
 * throttling at start-up, and Entra/relay credentials that expire every few seconds while kubectl
 * keeps working. The real binary, the real kubectl, the emulator's fault hooks.
 * (The agent going offline and coming back is in arcproxy.behaviour.test.ts.)
 */
import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Emulator } from '../../src/emulator/index.js';
import { startTestEmulator, arcproxyEnv } from '../helpers/emulator.js';
import { runArcproxy, startArcproxy, startArcproxyJson, tempHome, type ArcproxyProcess, type JsonArcproxy } from '../helpers/arcproxy.js';
import { availableKubectls, getPodsFor, runKubectl, spawnKubectl, type LongRunningKubectl } from '../helpers/kubectl.js';

const kubectl = availableKubectls()[0];

let emulator: Emulator;
let home: { dir: string; cleanup: () => Promise<void> } | undefined;
const running: ArcproxyProcess[] = [];
const watchers: LongRunningKubectl[] = [];

beforeAll(async () => {
  emulator = await startTestEmulator();
});
afterAll(async () => {
  await emulator?.close();
});
afterEach(async () => {
  for (const w of watchers.splice(0)) await w.kill();
  for (const p of running.splice(0)) await p.stop('SIGKILL');
  // Faults are emulator-wide: put the defaults back for the next test.
  emulator.faults.setTokenLifetime(3600);
  emulator.faults.setRelayTokenLifetime(10800);
  emulator.faults.entraThrottleNext(0);
  await home?.cleanup();
  home = undefined;
});

async function freshHome(): Promise<string> {
  home = await tempHome();
  await mkdir(join(home.dir, '.kube'), { recursive: true });
  return home.dir;
}

async function startProxy(dir: string): Promise<{ kubeconfig: string; cacheDir: string }> {
  const p = await startArcproxy(['-n', 'demo', '-g', 'demo-rg', '--port', '0'], arcproxyEnv(emulator, dir));
  running.push(p);
  return { kubeconfig: join(dir, '.kube/config'), cacheDir: join(dir, 'cache') };
}

/** Resolves within `ms` with the exit code, or with 'running'. */
function exitWithin(k: LongRunningKubectl, ms: number): Promise<number | 'running'> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([k.exited, new Promise<'running'>((r) => (timer = setTimeout(() => r('running'), ms)))]).finally(() => clearTimeout(timer));
}

describe.runIf(kubectl)('relay drops', () => {
  it('kubectl get -w keeps watching across relay drops: pods created after each drop appear', async () => {
    const { kubeconfig, cacheDir } = await startProxy(await freshHome());
    // -v=6 logs each response, so the test can wait until the watch itself is open.
    const w = spawnKubectl(kubectl!, ['get', 'pods', '-w', '-v=6'], { kubeconfig, cacheDir });
    watchers.push(w);
    await w.waitFor(/watch=true" status="200/);

    emulator.faults.dropRelayConnections();
    expect((await runKubectl(kubectl!, ['run', 'after-drop-1', '--image=x'], { kubeconfig, cacheDir })).code).toBe(0);
    await w.waitFor(/^after-drop-1\s/m);

    // Again, now that the resumed watch carries a resourceVersion of its own.
    emulator.faults.dropRelayConnections();
    expect((await runKubectl(kubectl!, ['run', 'after-drop-2', '--image=x'], { kubeconfig, cacheDir })).code).toBe(0);
    await w.waitFor(/^after-drop-2\s/m);
    expect(await exitWithin(w, 0)).toBe('running');
    // Nothing replayed twice: each pod was printed once.
    expect(w.output().match(/^after-drop-1\s/gm)).toHaveLength(1);

    for (const name of ['after-drop-1', 'after-drop-2']) await runKubectl(kubectl!, ['delete', 'pod', name, '--wait=false'], { kubeconfig, cacheDir });
  });

  it('kubectl logs -f rides through relay drops: no line lost or repeated', async () => {
    const { kubeconfig, cacheDir } = await startProxy(await freshHome());
    const logs = spawnKubectl(kubectl!, ['logs', '-f', 'hello-0'], { kubeconfig, cacheDir });
    watchers.push(logs);
    const numbers = () => [...logs.output().matchAll(/^hello from hello-0: line (\d+)$/gm)].map((m) => Number(m[1]));
    await logs.waitFor(/^hello from hello-0: line \d+$/m);
    // Lines written after each drop (a line a second) arrive on the same response.
    for (let drop = 0; drop < 2; drop++) {
      const latest = Math.max(...numbers());
      emulator.faults.dropRelayConnections();
      await logs.waitFor(new RegExp(`^hello from hello-0: line ${latest + 3}$`, 'm'));
    }
    expect(await exitWithin(logs, 0)).toBe('running');
    const seen = numbers();
    expect(seen).toEqual(Array.from({ length: seen.length }, (_, i) => seen[0]! + i));
    // The client did not ask for timestamps: none reach it.
    expect(logs.output()).not.toMatch(/^\d{4}-\d\d-\d\dT/m);
  });
});

describe('start-up against a throttled ARM', () => {
  it('waits out 429 Retry-After and starts', async () => {
    const dir = await freshHome();
    emulator.faults.armFailNext(2, 429, 1);
    const p = await startArcproxy(['-n', 'demo', '-g', 'demo-rg', '--port', '0'], arcproxyEnv(emulator, dir));
    running.push(p);
    expect(p.stdout()).toContain('Start sending kubectl requests');
  });
});

describe('start-up against a throttled Entra ID', () => {
  it("waits as long as the client-credentials grant's Retry-After asks, says so, and starts", async () => {
    const dir = await freshHome();
    emulator.faults.entraThrottleNext(1, 1);
    const warning = /Microsoft Entra ID asks arcproxy to wait 1 s before its next token request \(HTTP 429\)/;
    // stderr is a pipe of its own: wait for the warning there rather than assume it came first.
    let warned!: () => void;
    const sawWarning = new Promise<void>((resolve) => (warned = resolve));
    const p = await startArcproxy(['-n', 'demo', '-g', 'demo-rg', '--port', '0'], arcproxyEnv(emulator, dir), 30_000, (stderr) => {
      if (warning.test(stderr)) warned();
    });
    running.push(p);
    expect(p.stdout()).toContain('Start sending kubectl requests');
    await sawWarning;
    expect(p.stderr()).toMatch(warning);
  });

  it('fails at once, naming the wait, when Entra asks for more than a minute; the kubeconfig is not written', async () => {
    const dir = await freshHome();
    emulator.faults.entraThrottleNext(1, 600);
    const r = await runArcproxy(['-n', 'demo', '-g', 'demo-rg', '--port', '0'], arcproxyEnv(emulator, dir));
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/HTTP 429.*wait 600 s before the next token request/);
    const secret = emulator.env.AZURE_CLIENT_SECRET;
    expect(secret).toBeTruthy();
    expect(r.stderr).not.toContain(secret!);
    expect(await readdir(join(dir, '.kube'))).toEqual([]);
  });
});

/** arcproxy --output json, ready once its "ready" event is out. */
async function startJson(dir: string): Promise<JsonArcproxy> {
  const session = await startArcproxyJson(arcproxyEnv(emulator, dir));
  running.push({ proc: session.proc, port: 0, exited: session.exited, stdout: session.stdout, stderr: session.stderr, stop: () => session.stop() });
  return session;
}

describe.runIf(kubectl)('credentials that expire every few seconds', () => {
  it('refreshes the Entra token and the relay credential ahead of expiry while kubectl requests keep succeeding', async () => {
    // 6 s tokens are refreshed 2 s before expiry; the relay SAS lives 8 s (ARM's expirationTime
    // 4 s before that). 30 s is several lifetimes of both.
    emulator.faults.setTokenLifetime(6);
    emulator.faults.setRelayTokenLifetime(8);
    const dir = await freshHome();
    const session = await startJson(dir);
    const kubeconfig = join(dir, '.kube/config');
    const cacheDir = join(dir, 'cache');

    // A watch open the whole time: refreshes never tear down a healthy stream.
    const w = spawnKubectl(kubectl!, ['get', 'pods', '-w', '--output-watch-events', '-v=6'], { kubeconfig, cacheDir });
    watchers.push(w);
    await w.waitFor(/watch=true" status="200/);

    const { requests, failures } = await getPodsFor(kubectl!, { kubeconfig, cacheDir }, 30_000);
    expect(failures).toEqual([]);
    expect(requests).toBeGreaterThan(10);

    const names = session.events().map((e) => e.event);
    expect(names.filter((n) => n === 'tokenRefreshed').length).toBeGreaterThanOrEqual(3);
    expect(names.filter((n) => n === 'relayCredentialRenewed').length).toBeGreaterThanOrEqual(3);
    const renewed = session.events().find((e) => e.event === 'relayCredentialRenewed')!;
    expect(Date.parse(String(renewed.expiresOn))).toBeGreaterThan(0);
    expect(names).not.toContain('tunnelDown');
    // The watch opened at the start is still the same one.
    expect(await exitWithin(w, 0)).toBe('running');
    expect(w.output().match(/watch=true" status="200/g)).toHaveLength(1);
    // Events say when, never what: no token or SAS in the output.
    expect(session.raw()).not.toMatch(/SharedAccessSignature|sig=|eyJ[A-Za-z0-9_-]{20,}/);
    expect(await session.stop()).toBe(0);
  }, 60_000);
});
