/** A relayType ARM reports reaches the user once per session, through SessionEvents.warn, renewals included. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../../../src/emulator/index.js';
import { defaultSeed } from '../../../src/emulator/seed.js';
import type { SessionEvents } from '../../../src/session/ports.js';
import { startSession } from '../../../src/session/start.js';
import { arcproxyEnv } from '../../helpers/emulator.js';

function recording(): SessionEvents & { warnings: string[]; events: string[] } {
  const warnings: string[] = [];
  const events: string[] = [];
  const noop = (): void => undefined;
  return {
    warnings,
    events,
    stage: noop,
    prompt: noop,
    request: noop,
    warn: (message) => warnings.push(message),
    event: (name) => events.push(name),
    tunnel: noop,
    clusterCheck: noop,
  };
}

describe('startSession: the relay type ARM reports', () => {
  let emulator: Emulator;
  let home: string;
  beforeAll(async () => {
    const seed = defaultSeed();
    seed.resourceGroups[0]!.clusters.find((c) => c.name === 'demo')!.relayType = 'byor';
    emulator = await startEmulator({ seed });
    home = await mkdtemp(join(tmpdir(), 'arcproxy-relay-type-'));
  });
  afterAll(async () => {
    await emulator?.close();
    await rm(home, { recursive: true, force: true });
  });

  it('is told once, however many relay credentials the session fetches', async () => {
    // 4 s credentials are renewed every 2 s (half their life).
    emulator.faults.setRelayTokenLifetime(4);
    const report = recording();
    const io = { env: arcproxyEnv(emulator, home), homeDir: home, stdinIsTty: false, stderrIsTty: false };
    const session = await startSession({ name: 'demo', resourceGroup: 'demo-rg', port: 0 }, io, report);
    try {
      await expect.poll(() => report.events.filter((e) => e === 'relayCredentialRenewed').length, { timeout: 10_000 }).toBeGreaterThanOrEqual(2);
      expect(report.warnings).toEqual([
        "Azure Resource Manager says the relay of connected cluster 'demo' is of type 'byor', which arcproxy does not know; it connects to it as to any Azure Relay hybrid connection. If requests through the proxy fail, report this relay type.",
      ]);
      expect(await session.relayChecked).toBe(true);
    } finally {
      await session.close(0);
      emulator.faults.setRelayTokenLifetime(10_800);
    }
  }, 20_000);
});
