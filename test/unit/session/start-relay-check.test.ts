/** Start-up checks the relay (one stream into the proxy's pool) and never fails for an offline agent. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { EventEmitter } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSession, type Session } from '../../../src/session/start.js';
import type { Reporter } from '../../../src/cli/reporter.js';
import type { CliIo } from '../../../src/cli/io.js';
import { arcproxyEnv, startTestEmulator } from '../../helpers/emulator.js';

type Emulator = Awaited<ReturnType<typeof startTestEmulator>>;

function recordingReporter(): Reporter & { stages: string[]; tunnel: Reporter['tunnel']; tunnels: unknown[] } {
  const stages: string[] = [];
  const tunnels: unknown[] = [];
  const noop = (): void => undefined;
  return {
    stages,
    tunnels,
    stage: (name) => stages.push(name),
    tunnel: (state) => tunnels.push(state),
    listening: noop,
    merged: noop,
    ready: noop,
    prompt: noop,
    warn: noop,
    request: noop,
    event: noop,
    error: noop,
    kubeconfigRestored: noop,
    clusterCheck: noop,
    stopped: noop,
  };
}

describe('startSession: checking the relay', () => {
  let emulator: Emulator;
  let home: string;
  let io: CliIo;
  beforeAll(async () => {
    emulator = await startTestEmulator();
    home = await mkdtemp(join(tmpdir(), 'arcproxy-start-'));
    io = {
      stdout: new PassThrough(),
      stderr: new PassThrough(),
      env: arcproxyEnv(emulator, home),
      homeDir: home,
      stdinIsTty: false,
      stderrIsTty: false,
      signals: new EventEmitter(),
    };
  });
  afterAll(async () => {
    await emulator?.close();
    await rm(home, { recursive: true, force: true });
  });

  const opts = { name: 'demo', resourceGroup: 'demo-rg', port: 0 };

  it('opens one relay stream before start-up returns', async () => {
    const report = recordingReporter();
    const session: Session = await startSession(opts, io, report);
    try {
      expect(report.stages).toContain('Checking the relay');
      expect(await session.relayChecked).toBe(true);
      expect(report.tunnels).toEqual([]);
    } finally {
      await session.close(0);
    }
  });

  it('starts anyway when the agent is offline, after waiting for it to listen, and reports the tunnel down', async () => {
    await emulator.faults.setAgentOnline('demo', false);
    const report = recordingReporter();
    let session: Session | undefined;
    try {
      session = await startSession({ ...opts, listenerWaitMs: 1_500 }, io, report);
      expect(await session.relayChecked).toBe(false);
      expect(report.stages).toContainEqual(expect.stringMatching(/^Waiting up to \d+ s for the cluster agent to listen on the new hybrid connection$/));
      expect(report.tunnels).toEqual([expect.objectContaining({ ok: false, code: 'ARCPROXY_RELAY_LISTENER_TIMEOUT' })]);
      expect(session.port).toBeGreaterThan(0);
    } finally {
      await emulator.faults.setAgentOnline('demo', true);
      await session?.close(0);
    }
  });
});
