/**
 * What one warm `kubectl get pods` costs through arcproxy (discovery cached, arcproxy running,
 * Token mode, as the benchmark's WAN row runs it): counted at the emulated relay, agent and
 * apiserver, not timed. Against a relay a WAN hop away every extra request is a relay round trip
 * and every new relay connection three of them, so the command must be exactly one request on a
 * stream already open: kubectl's discovery cache hit for arcproxy's server URL, no credential
 * retry (a 401 then the token), nothing of arcproxy's own alongside.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../../src/emulator/index.js';
import { defaultSeed } from '../../src/emulator/seed.js';
import { arcproxyEnv } from '../helpers/emulator.js';
import { startArcproxy, tempHome } from '../helpers/arcproxy.js';
import { availableKubectls, runKubectl } from '../helpers/kubectl.js';

const kubectl = availableKubectls()[0];
let emulator: Emulator;
let home: { dir: string; cleanup: () => Promise<void> };
const log: string[] = [];

beforeAll(async () => {
  emulator = await startEmulator({ seed: defaultSeed(), requestLog: (line) => log.push(line) });
  home = await tempHome();
  await mkdir(join(home.dir, '.kube'), { recursive: true });
});
afterAll(async () => {
  await emulator?.close();
  await home?.cleanup();
});

/** Waits until the relay has opened no connection for a while (start-up's warm streams, refills). */
async function relayQuiet(): Promise<void> {
  let last = -1;
  await expect
    .poll(
      () => {
        const now = emulator.relayCounters().relayedConnections;
        const quiet = now === last;
        last = now;
        return quiet;
      },
      { timeout: 15_000, interval: 300 },
    )
    .toBe(true);
}

describe.runIf(kubectl)('a warm kubectl command', () => {
  it('is one request on an open relay stream: discovery from its cache, no retry, no relay connection', async () => {
    const token = emulator.env.ARCPROXY_EMULATOR_SA_TOKEN!;
    const proxy = await startArcproxy(['-n', 'demo', '-g', 'demo-rg', '--port', '0', '--token', token], arcproxyEnv(emulator, home.dir));
    const run = () =>
      runKubectl(kubectl!, ['get', 'pods', '-n', 'default', '-o', 'name'], { kubeconfig: join(home.dir, '.kube/config'), cacheDir: join(home.dir, 'cache') });
    try {
      expect((await run()).stdout).toContain('pod/hello-0');
      await relayQuiet();
      const before = emulator.relayCounters();
      log.length = 0;
      expect((await run()).stdout).toContain('pod/hello-0');
      await expect.poll(() => log.filter((l) => / apiserver /.test(l)).length).toBeGreaterThanOrEqual(1);
      const seen = (component: string) => log.filter((l) => l.includes(` ${component} `)).map((l) => l.split(' ').slice(3, 6).join(' '));
      expect(seen('agent')).toEqual(['GET /api/v1/namespaces/default/pods?limit=500 200']);
      expect(seen('apiserver')).toEqual(['GET /api/v1/namespaces/default/pods?limit=500 200']);
      const after = emulator.relayCounters();
      expect(after.tcpConnections - before.tcpConnections).toBe(0);
      expect(after.relayedConnections - before.relayedConnections).toBe(0);
    } finally {
      await proxy.stop();
    }
  });
});
