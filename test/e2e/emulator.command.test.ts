/**
 * `arcproxy emulator` as a user runs it: through the launcher, with --write-env and --seed, fault
 * hooks over the admin endpoint, and a clean stop on SIGINT.
 */
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { defaultSeed } from '../../src/emulator/seed.js';
import { runArcproxy } from '../helpers/arcproxy.js';
import { parseEnvFile, startEmulatorProcess } from '../helpers/emulator-process.js';
import { availableKubectls } from '../helpers/kubectl.js';

const kubectl = availableKubectls()[0];

function postFault(env: Record<string, string>, ca: string, path: string, body: unknown): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${env.ARCPROXY_EMULATOR_ADMIN_URL}${path}`,
      { method: 'POST', ca, headers: { authorization: `Bearer ${env.ARCPROXY_EMULATOR_ADMIN_KEY}`, 'content-type': 'application/json' } },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

function getAdmin(env: Record<string, string>, ca: string, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${env.ARCPROXY_EMULATOR_ADMIN_URL}${path}`, { ca, headers: { authorization: `Bearer ${env.ARCPROXY_EMULATOR_ADMIN_KEY}` } }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('arcproxy emulator', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'arcproxy-emulator-cmd-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('writes the env file, answers fault hooks, serves arcproxy, and stops cleanly on SIGINT', async () => {
    const envFile = join(dir, 'env');
    const emu = await startEmulatorProcess(['--write-env', envFile, '--state-dir', dir]);
    try {
      expect((await stat(envFile)).mode & 0o777).toBe(0o600);
      const env = parseEnvFile(await readFile(envFile, 'utf8'));
      for (const name of [
        'AZURE_TENANT_ID',
        'AZURE_CLIENT_ID',
        'AZURE_CLIENT_SECRET',
        'AZURE_SUBSCRIPTION_ID',
        'ARCPROXY_CLOUD',
        'ARCPROXY_EMULATOR_SA_TOKEN',
        'ARCPROXY_EMULATOR_NOACCESS_CLIENT_ID',
        'ARCPROXY_EMULATOR_NOACCESS_CLIENT_SECRET',
      ]) {
        expect(env[name], name).toBeTruthy();
      }
      const cloud = JSON.parse(await readFile(env.ARCPROXY_CLOUD!, 'utf8')) as { ca: string; hostMap: Record<string, string> };
      expect(Object.keys(cloud.hostMap)[0]).toMatch(/^\*\./);

      // Wrong admin key: refused.
      expect(await postFault({ ...env, ARCPROXY_EMULATOR_ADMIN_KEY: 'nope' }, cloud.ca, '/faults/agent', { cluster: 'demo', online: false })).toBe(401);
      expect(await postFault(env, cloud.ca, '/faults/agent', { cluster: 'demo', online: false })).toBe(200);
      if (kubectl) {
        const home = join(dir, 'home');
        // The agent never listens on the new hybrid connection: arcproxy waits its 30 s for it, then explains.
        const down = await runArcproxy(['-n', 'demo', '-g', 'demo-rg', '--port', '0', '--', kubectl.path, 'get', 'pods'], { ...env, HOME: home }, 60_000);
        expect(down.code).not.toBe(0);
        expect(down.stderr).toMatch(/agent is not connected to Azure Relay/);
        expect(down.stderr).toMatch(/did not start listening on the hybrid connection/);
        expect(await postFault(env, cloud.ca, '/faults/agent', { cluster: 'demo', online: true })).toBe(200);
        const up = await runArcproxy(['-n', 'demo', '-g', 'demo-rg', '--port', '0', '--', kubectl.path, 'get', 'pods', '-o', 'name'], { ...env, HOME: home });
        expect(up.code).toBe(0);
        expect(up.stdout).toContain('pod/hello-0');
        // One hybrid connection per credential: both runs got their own; only the second was used.
        const counts = await getAdmin(env, cloud.ca, '/hybrid-connections?cluster=demo');
        expect(counts.status).toBe(200);
        expect(JSON.parse(counts.body)).toEqual({ issued: 2, live: 2, used: 1 });
        expect((await getAdmin({ ...env, ARCPROXY_EMULATOR_ADMIN_KEY: 'nope' }, cloud.ca, '/hybrid-connections?cluster=demo')).status).toBe(401);
      }
      emu.proc.kill('SIGINT');
      expect(await emu.exited).toBe(0);
      expect(emu.output()).toContain('arcproxy emulator stopped');
    } finally {
      emu.proc.kill('SIGKILL');
    }
  }, 90_000);

  it('takes a seed file', async () => {
    const seed = defaultSeed();
    const rg = seed.resourceGroups[0]!;
    rg.name = 'team-rg';
    rg.clusters = [{ ...rg.clusters[0]!, name: 'edge-1' }];
    rg.clusters[0]!.kubernetes!.pods.push({ namespace: 'default', name: 'big-log', logBytes: 1024 * 1024, echoPorts: [] });
    seed.roleAssignments = seed.roleAssignments.map((a) => ({
      ...a,
      scope: a.scope.replace('/resourceGroups/demo-rg', '/resourceGroups/team-rg').replace('/connectedClusters/demo', '/connectedClusters/edge-1'),
    }));
    const seedFile = join(dir, 'seed.yaml');
    await writeFile(seedFile, stringify(seed));
    const emu = await startEmulatorProcess(['--seed', seedFile, '--state-dir', dir]);
    try {
      expect(emu.output()).toContain('Cluster:   team-rg/edge-1');
    } finally {
      emu.proc.kill('SIGTERM');
      expect(await emu.exited).toBe(0);
    }
  });

  it("still takes the old --env-file where it reaches arcproxy (the launcher ends Node's options), with a warning", async () => {
    const envFile = join(dir, 'old.env');
    const emu = await startEmulatorProcess(['--env-file', envFile]);
    try {
      expect(emu.output()).toMatch(/warning: --env-file is deprecated.*use --write-env/);
      expect((await stat(envFile)).mode & 0o777).toBe(0o600);
    } finally {
      emu.proc.kill('SIGTERM');
      expect(await emu.exited).toBe(0);
    }
  });

  it('reports a bad seed file as bad input', async () => {
    const seedFile = join(dir, 'bad.yaml');
    await writeFile(seedFile, 'resourceGroups: [ { name: x, clusters: [ { name: y, agent: true } ], subscriptionId: s } ]\n');
    const r = await runArcproxy(['emulator', '--seed', seedFile], {});
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('runs an agent but has no "kubernetes" section');
    const seed = defaultSeed();
    seed.resourceGroups[0]!.clusters[0]!.kubernetes!.pods.push({ namespace: 'default', name: 'big-log', logBytes: -1 });
    await writeFile(seedFile, stringify(seed));
    const negative = await runArcproxy(['emulator', '--seed', seedFile], {});
    expect(negative.code).toBe(2);
    expect(negative.stderr).toContain('pod default/big-log in cluster demo: "logBytes" must be a whole number');
  });
});
