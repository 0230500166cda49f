/**
 * `arcproxy diagnose` with the real binary against the emulator: every stage OK on a healthy
 * cluster; an agent that is not listening fails the relay stage; an Offline cluster fails at ARM;
 * a plain bearer token against a cluster that enforces PoP shows the 401 at the tunnel stage. The
 * exit code is the first failing stage's, and no secret the session held reaches the report.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../../src/emulator/index.js';
import { defaultSeed } from '../../src/emulator/seed.js';
import type { StageReport } from '../../src/session/diagnose.js';
import { arcproxyEnv } from '../helpers/emulator.js';
import { runArcproxy, tempHome } from '../helpers/arcproxy.js';

let healthy: Emulator;
let agentDown: Emulator;
const homes: Array<{ cleanup: () => Promise<void> }> = [];

beforeAll(async () => {
  [healthy, agentDown] = await Promise.all([startEmulator({ seed: defaultSeed() }), startEmulator({ seed: defaultSeed() })]);
  // ARM still says Connected; the agent's listener is gone.
  await agentDown.faults.setAgentOnline('demo', false);
}, 60_000);
afterAll(async () => {
  await Promise.all([healthy?.close(), agentDown?.close()]);
});
afterEach(async () => {
  for (const h of homes.splice(0)) await h.cleanup();
});

async function diagnose(emulator: Emulator, args: string[], extraEnv: Record<string, string | undefined> = {}) {
  const h = await tempHome();
  homes.push(h);
  const r = await runArcproxy(['diagnose', ...args], arcproxyEnv(emulator, h.dir, extraEnv), 60_000);
  // A field check changes nothing on the machine.
  expect(existsSync(join(h.dir, '.kube', 'config'))).toBe(false);
  return r;
}

interface Report {
  stages: StageReport[];
  exitCode: number;
  result: { ok: boolean; exitCode: number; failedStage?: string };
}

const statuses = (report: Report) => Object.fromEntries(report.stages.map((s) => [s.id, s.status]));

/** Whatever credential the session held: the emulator's client secret, the SA token, any JWT (Entra tokens, SHRs) or SAS signature. */
function expectNoSecret(output: string, emulator: Emulator): void {
  expect(output).not.toContain(emulator.env.AZURE_CLIENT_SECRET);
  expect(output).not.toContain(emulator.env.ARCPROXY_EMULATOR_SA_TOKEN);
  expect(output).not.toMatch(/eyJ[\w-]+\.eyJ[\w-]+/);
  expect(output).not.toMatch(/SharedAccessSignature sr=/);
  expect(output).not.toMatch(/sig=(?!\[redacted\])/);
}

describe('arcproxy diagnose', () => {
  it('passes every stage on a healthy cluster and says what it saw (text)', async () => {
    const r = await diagnose(healthy, ['-n', 'demo', '-g', 'demo-rg']);
    expect(r.stdout).toMatch(/^OK {4}Sign-in .*$/m);
    for (const title of [
      'ARM: GET the connected cluster',
      'Token for the cluster',
      'ARM: listClusterUserCredential',
      'Relay: connect handshake',
      'Through the tunnel: GET /version',
    ]) {
      expect(r.stdout).toMatch(new RegExp(`^OK {4}${title.replace(/[/()]/g, '\\$&')} {2}\\(\\d+\\.\\d{3} s\\)$`, 'm'));
    }
    expect(r.stdout).toContain('source: environment-secret');
    expect(r.stdout).toContain('scheme: pop');
    expect(r.stdout).toMatch(/^ {6}popBound: true$/m);
    expect(r.stdout).toContain('status: 101 Switching Protocols');
    expect(r.stdout).toContain('statusLine: HTTP/1.1 200 OK');
    expect(r.stdout).toContain('"gitVersion":"v1.31.4+arcproxy-emulator"');
    expect(r.stdout).toContain('Authorization: [redacted]');
    expect(r.stdout.trimEnd().split('\n').at(-1)).toBe('result: OK, every stage passed (exit 0)');
    expectNoSecret(r.stdout + r.stderr, healthy);
    expect(r.code).toBe(0);
  });

  it('passes every stage in Token mode, and the service-account token stays out of the report (JSON)', async () => {
    const r = await diagnose(healthy, ['-n', 'demo', '-g', 'demo-rg', '-o', 'json'], { ARCPROXY_TOKEN: healthy.env.ARCPROXY_EMULATOR_SA_TOKEN });
    const report = JSON.parse(r.stdout) as Report;
    expect(report.result).toEqual({ ok: true, exitCode: 0 });
    expect(report.stages.find((s) => s.id === 'relay-credential')?.details).toMatchObject({ authenticationMethod: 'Token' });
    expect(report.stages.find((s) => s.id === 'tunnel')?.details).toMatchObject({ response: { statusCode: 200 } });
    expectNoSecret(r.stdout + r.stderr, healthy);
    expect(r.code).toBe(0);
  });

  it('fails the relay stage when no agent listens, skips the tunnel, and exits with the relay error code', async () => {
    for (const output of ['text', 'json']) {
      const r = await diagnose(agentDown, ['-n', 'demo', '-g', 'demo-rg', '-o', output]);
      expectNoSecret(r.stdout + r.stderr, agentDown);
      expect(r.code).toBe(8);
      if (output === 'text') {
        expect(r.stdout).toMatch(/^FAIL {2}Relay: connect handshake/m);
        // Each handshake found no listener; the stage gives up after its wait for a new hybrid connection.
        expect(r.stdout).toContain('error: ARCPROXY_RELAY_LISTENER_TIMEOUT (exit 8)');
        expect(r.stdout).toMatch(/did not start listening on the hybrid connection ARM issued .* within 5 s/);
        expect(r.stdout).toMatch(/status: 404 Endpoint does not exist\. No listener is connected/);
        expect(r.stdout).toMatch(/^SKIP {2}Through the tunnel: GET \/version: skipped, "Relay: connect handshake" failed$/m);
        continue;
      }
      const report = JSON.parse(r.stdout) as Report;
      expect(statuses(report)).toEqual({ 'sign-in': 'ok', cluster: 'ok', 'cluster-token': 'ok', 'relay-credential': 'ok', relay: 'fail', tunnel: 'skipped' });
      const relay = report.stages.find((s) => s.id === 'relay')!;
      expect(relay.error).toMatchObject({ code: 'ARCPROXY_RELAY_LISTENER_TIMEOUT', exitCode: 8 });
      // Every handshake is there, with the relay's own answer.
      expect((relay.details.attempts as Array<{ status?: string; error?: string }>)[0]).toMatchObject({
        status: expect.stringMatching(/^404/),
        error: 'ARCPROXY_RELAY_NO_LISTENER',
      });
      expect(report.result).toEqual({ ok: false, exitCode: 8, failedStage: 'relay' });
    }
  }, 60_000);

  it('asks for -n and -g like the proxy (exit 2), and --help names the shared options', async () => {
    const r = await diagnose(healthy, ['-n', 'demo']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('the following arguments are required: --name/-n, --resource-group/-g');
    const help = await diagnose(healthy, ['--help']);
    for (const flag of ['--name', '--resource-group', '--subscription', '--token', '--auth-scheme', '--cloud', '--output']) expect(help.stdout).toContain(flag);
    expect(help.stdout).not.toContain('--port');
    expect(help.code).toBe(0);
  });

  it('stops at ARM for a cluster ARM reports Offline, as start-up would (exit 6)', async () => {
    const r = await diagnose(healthy, ['-n', 'offline', '-g', 'demo-rg', '-o', 'json']);
    const report = JSON.parse(r.stdout) as Report;
    expect(statuses(report)).toMatchObject({ cluster: 'fail', 'cluster-token': 'skipped', relay: 'skipped', tunnel: 'skipped' });
    expect(report.stages.find((s) => s.id === 'cluster')).toMatchObject({
      details: { connectivityStatus: 'Offline' },
      error: { code: 'ARCPROXY_CLUSTER_OFFLINE' },
    });
    expect(r.code).toBe(6);
  });

  it('shows the 401 at the tunnel stage for a plain bearer token against a cluster that enforces PoP', async () => {
    for (const output of ['text', 'json']) {
      const r = await diagnose(healthy, ['-n', 'demo', '-g', 'demo-rg', '--auth-scheme', 'bearer', '-o', output]);
      expectNoSecret(r.stdout + r.stderr, healthy);
      expect(r.code).toBe(3);
      if (output === 'text') {
        expect(r.stdout).toMatch(/^FAIL {2}Through the tunnel: GET \/version/m);
        expect(r.stdout).toContain('statusLine: HTTP/1.1 401 Unauthorized');
        expect(r.stdout).toMatch(/sent a plain bearer token.*--auth-scheme pop/);
        continue;
      }
      const report = JSON.parse(r.stdout) as Report;
      const token = report.stages.find((s) => s.id === 'cluster-token')!;
      expect(token.details).toMatchObject({ scheme: 'bearer', popBound: false });
      const tunnel = report.stages.find((s) => s.id === 'tunnel')!;
      expect(tunnel).toMatchObject({
        status: 'fail',
        error: { code: 'ARCPROXY_CLUSTER_UNAUTHORIZED', exitCode: 3 },
        details: { response: { statusCode: 401 } },
      });
      expect(report.result).toEqual({ ok: false, exitCode: 3, failedStage: 'tunnel' });
    }
  }, 60_000);
});
