/**
 * Hybrid connections as Azure hands them out: a new one for every credential, listened on by the
 * agent only some time after listClusterUserCredential, deleted at the credential's expiry. The
 * real binary and the real kubectl: start-up waits for the listener, and credentials renewed
 * every few seconds move kubectl across several hybrid connections without a failed request.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Emulator } from '../../src/emulator/index.js';
import { DEFAULT_RELAY_LISTENER_DELAY_MS } from '../../src/emulator/seed.js';
import { startTestEmulator, arcproxyEnv } from '../helpers/emulator.js';
import { startArcproxyJson, tempHome, type JsonArcproxy } from '../helpers/arcproxy.js';
import { availableKubectls, getPodsFor, runKubectl, spawnKubectl, type LongRunningKubectl } from '../helpers/kubectl.js';

const kubectl = availableKubectls()[0];

let emulator: Emulator;
const homes: { cleanup: () => Promise<void> }[] = [];
const stops: (() => Promise<unknown>)[] = [];
const watchers: LongRunningKubectl[] = [];

beforeAll(async () => {
  emulator = await startTestEmulator();
});
afterAll(async () => {
  await emulator?.close();
});
afterEach(async () => {
  for (const w of watchers.splice(0)) await w.kill();
  for (const stop of stops.splice(0)) await stop();
  emulator.faults.setRelayTokenLifetime(10800);
  emulator.faults.setRelayListenerDelay(DEFAULT_RELAY_LISTENER_DELAY_MS);
  for (const h of homes.splice(0)) await h.cleanup();
});

/** arcproxy --output json in a fresh home, resolved once its "ready" event is out. */
async function startJson(): Promise<JsonArcproxy & { kubeconfig: string; cacheDir: string }> {
  const home = await tempHome();
  homes.push(home);
  await mkdir(join(home.dir, '.kube'), { recursive: true });
  const session = await startArcproxyJson(arcproxyEnv(emulator, home.dir));
  stops.push(session.stop);
  return { ...session, kubeconfig: join(home.dir, '.kube/config'), cacheDir: join(home.dir, 'cache') };
}

describe.runIf(kubectl)('hybrid connections that change with every credential', () => {
  it('starts right after listClusterUserCredential although the agent listens on the new hybrid connection only 3 s later', async () => {
    // Longer than arcproxy takes from the ARM call to its first dial, even on a loaded machine.
    emulator.faults.setRelayListenerDelay(3000);
    const before = emulator.hybridConnections('demo');
    const started = Date.now();
    const session = await startJson();
    // Ready only once the agent listened: the start-up check went through.
    expect(Date.now() - started).toBeGreaterThanOrEqual(3000);
    const names = session.events().map((e) => e.event);
    expect(names).not.toContain('tunnelDown');
    const stages = session
      .events()
      .filter((e) => e.event === 'stage')
      .map((e) => String(e.stage));
    expect(stages).toContainEqual(expect.stringMatching(/^Waiting up to \d+ s for the cluster agent to listen on the new hybrid connection$/));
    const r = await runKubectl(kubectl!, ['get', 'pods', '-o', 'name'], { kubeconfig: session.kubeconfig, cacheDir: session.cacheDir });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('pod/hello-0');
    const after = emulator.hybridConnections('demo');
    expect(after.issued).toBe(before.issued + 1);
    expect(after.used).toBe(before.used + 1);
    expect(await session.stop()).toBe(0);
  });

  it('moves kubectl across hybrid connections renewed every few seconds: no failed request, the watch still open', async () => {
    // Each credential's hybrid connection is deleted 5 s after it was issued; arcproxy renews a
    // third of that before, and the agent listens on the next one 0.5 s after it was issued.
    emulator.faults.setRelayTokenLifetime(5);
    emulator.faults.setRelayListenerDelay(500);
    const before = emulator.hybridConnections('demo');
    const session = await startJson();
    const { kubeconfig, cacheDir } = session;
    const w = spawnKubectl(kubectl!, ['get', 'pods', '-w', '--output-watch-events', '-v=6'], { kubeconfig, cacheDir });
    watchers.push(w);
    await w.waitFor(/watch=true" status="200/);

    // 30 s of requests: six credentials' lifetimes.
    const { requests, failures } = await getPodsFor(kubectl!, { kubeconfig, cacheDir }, 30_000);
    expect(failures).toEqual([]);
    expect(requests).toBeGreaterThanOrEqual(5);

    const used = emulator.hybridConnections('demo').used - before.used;
    expect(used).toBeGreaterThanOrEqual(6);
    const names = session.events().map((e) => e.event);
    expect(names.filter((n) => n === 'relayCredentialRenewed').length).toBeGreaterThanOrEqual(5);
    expect(names).not.toContain('tunnelDown');
    // The watch kubectl opened at the start is still the same one, and it still works.
    expect(w.output().match(/watch=true" status="200/g)).toHaveLength(1);
    expect((await runKubectl(kubectl!, ['run', 'after-renewals', '--image=x'], { kubeconfig, cacheDir })).code).toBe(0);
    await w.waitFor(/ADDED\s+after-renewals\s/);
    await runKubectl(kubectl!, ['delete', 'pod', 'after-renewals', '--wait=false'], { kubeconfig, cacheDir });
    expect(session.raw()).not.toMatch(/SharedAccessSignature|sig=/);
    expect(await session.stop()).toBe(0);
  }, 55_000);
});
