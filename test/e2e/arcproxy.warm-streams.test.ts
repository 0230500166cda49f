/**
 * kubectl's first command with a cold discovery cache asks a dozen things at once (/api, /apis,
 * then every group version). Once arcproxy says it is ready it opens a burst's worth of relay
 * streams, so that command pays no relay dial of its own: counted at the emulated relay.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Emulator } from '../../src/emulator/index.js';
import { startTestEmulator, arcproxyEnv } from '../helpers/emulator.js';
import { startArcproxy, tempHome } from '../helpers/arcproxy.js';
import { availableKubectls, runKubectl } from '../helpers/kubectl.js';

const kubectl = availableKubectls()[0];
let emulator: Emulator;
let home: { dir: string; cleanup: () => Promise<void> };

beforeAll(async () => {
  emulator = await startTestEmulator();
  home = await tempHome();
  await mkdir(join(home.dir, '.kube'), { recursive: true });
});
afterAll(async () => {
  await emulator?.close();
  await home?.cleanup();
});

describe.runIf(kubectl)('streams warmed after ready', () => {
  it("kubectl's first command with a cold discovery cache opens no relay connection of its own", async () => {
    const proxy = await startArcproxy(['-n', 'demo', '-g', 'demo-rg', '--port', '0'], arcproxyEnv(emulator, home.dir));
    try {
      // The warm-up runs after ready: wait until the relay has seen the burst's connections settle.
      let settled = -1;
      await expect
        .poll(
          () => {
            const now = emulator.relayCounters().relayedConnections;
            const stable = now === settled && now >= 16;
            settled = now;
            return stable;
          },
          { timeout: 15_000, interval: 300 },
        )
        .toBe(true);
      const before = emulator.relayCounters().relayedConnections;
      const r = await runKubectl(kubectl!, ['get', 'pods', '-o', 'name'], {
        kubeconfig: join(home.dir, '.kube/config'),
        cacheDir: join(home.dir, 'cold-cache'),
      });
      expect(r.stdout).toContain('pod/hello-0');
      // Discovery and the list went over warm streams; at most the warm spare was refilled beside them.
      expect(emulator.relayCounters().relayedConnections - before).toBeLessThanOrEqual(1);
    } finally {
      await proxy.stop();
    }
  });
});
