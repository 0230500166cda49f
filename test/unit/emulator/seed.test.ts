/** YAML seed files: a pod's generated log size (logBytes), a cluster's enforcePoP and relayType, and a principal's certificate are read and checked. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import {
  DEFAULT_RELAY_LISTENER_DELAY_MS,
  defaultSeed,
  ENFORCE_POP_DEFAULT,
  enforcesPoP,
  loadSeedFile,
  type Seed,
  type SeedCluster,
} from '../../../src/emulator/seed.js';
import { createCertificateAuthority } from '../../../src/pki/certs.js';
import { makeRsaCertificate } from './entra/cert-fixture.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'arcproxy-seed-'));
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** The default seed with one more pod in cluster demo, as a YAML file. */
async function seedFileWithPod(pod: Record<string, unknown>): Promise<string> {
  const seed = defaultSeed();
  const demo = seed.resourceGroups[0]!.clusters.find((c) => c.name === 'demo')!;
  demo.kubernetes!.pods.push(pod as never);
  const file = join(dir, `seed-${Math.random().toString(36).slice(2)}.yaml`);
  await writeFile(file, stringify(seed));
  return file;
}

const demoOf = (seed: Seed) => seed.resourceGroups[0]!.clusters.find((c) => c.name === 'demo')!;

/** The default seed with cluster demo's enforcePoP set to `value` (left out when undefined), as a YAML file. */
async function seedFileWithEnforcePoP(value: unknown): Promise<string> {
  const seed = defaultSeed();
  const demo: Record<string, unknown> = { ...demoOf(seed) };
  if (value === undefined) delete demo.enforcePoP;
  else demo.enforcePoP = value;
  seed.resourceGroups[0]!.clusters = seed.resourceGroups[0]!.clusters.map((c) => (c.name === 'demo' ? (demo as unknown as SeedCluster) : c));
  const file = join(dir, `seed-${Math.random().toString(36).slice(2)}.yaml`);
  await writeFile(file, stringify(seed));
  return file;
}

const podsOf = (seed: Seed) => seed.resourceGroups[0]!.clusters.find((c) => c.name === 'demo')!.kubernetes!.pods;

describe('seed logBytes', () => {
  it('is read from YAML as a number', async () => {
    const file = await seedFileWithPod({ namespace: 'bench', name: 'big-log', logBytes: 104857600 });
    expect(podsOf(loadSeedFile(file)).find((p) => p.name === 'big-log')).toEqual({ namespace: 'bench', name: 'big-log', logBytes: 104857600 });
  });

  it('refuses a size that is negative, fractional, not a number or too large', async () => {
    for (const logBytes of [-1, 1.5, '100Mi', 10 ** 12]) {
      const file = await seedFileWithPod({ namespace: 'bench', name: 'big-log', logBytes });
      expect(() => loadSeedFile(file), String(logBytes)).toThrow(
        /pod bench\/big-log in cluster demo: "logBytes" must be a whole number from 0 to 99999999900\./,
      );
    }
  });
});

describe('seed enforcePoP', () => {
  it('is left out of the built-in seed, so every cluster follows ENFORCE_POP_DEFAULT', () => {
    for (const cluster of defaultSeed().resourceGroups.flatMap((rg) => rg.clusters)) {
      expect(cluster.enforcePoP, cluster.name).toBeUndefined();
      expect(enforcesPoP(cluster), cluster.name).toBe(ENFORCE_POP_DEFAULT);
    }
  });

  it('is read from YAML, true or false, and left out means the default', async () => {
    expect(enforcesPoP(demoOf(loadSeedFile(await seedFileWithEnforcePoP(true))))).toBe(true);
    expect(enforcesPoP(demoOf(loadSeedFile(await seedFileWithEnforcePoP(false))))).toBe(false);
    expect(enforcesPoP(demoOf(loadSeedFile(await seedFileWithEnforcePoP(undefined))))).toBe(ENFORCE_POP_DEFAULT);
  });

  it('refuses anything but true or false', async () => {
    for (const value of ['yes please', 1, 'true', null]) {
      const file = await seedFileWithEnforcePoP(value);
      expect(() => loadSeedFile(file), String(value)).toThrow(/cluster demo: "enforcePoP" must be true or false\./);
    }
  });
});

describe('seed clientCertificate', () => {
  async function seedFileWithCertificate(clientCertificate: unknown): Promise<string> {
    const seed = defaultSeed();
    (seed.principals.find((p) => p.name === 'ci') as unknown as Record<string, unknown>).clientCertificate = clientCertificate;
    const file = join(dir, `seed-${Math.random().toString(36).slice(2)}.yaml`);
    await writeFile(file, stringify(seed));
    return file;
  }

  it('is read from YAML as the PEM of an RSA certificate', async () => {
    const { certPem } = await makeRsaCertificate();
    const seed = loadSeedFile(await seedFileWithCertificate(certPem));
    expect(seed.principals.find((p) => p.name === 'ci')!.clientCertificate?.trim()).toBe(certPem.trim());
  });

  it('refuses something that is not a PEM certificate, or one with an ECDSA key', async () => {
    const ca = await createCertificateAuthority('not rsa');
    for (const value of ['not a certificate', 42, ca.cert]) {
      const file = await seedFileWithCertificate(value);
      expect(() => loadSeedFile(file), String(value).slice(0, 20)).toThrow(/principal ci: "clientCertificate" must be a PEM certificate with an RSA key/);
    }
  });
});

describe('seed relayType', () => {
  async function seedFileWithRelayType(relayType: unknown): Promise<string> {
    const seed = defaultSeed();
    Object.assign(
      seed.resourceGroups[0]!.clusters.find((c) => c.name === 'demo')!,
      { relayType },
    );
    const file = join(dir, `seed-${Math.random().toString(36).slice(2)}.yaml`);
    await writeFile(file, stringify(seed));
    return file;
  }

  it('is read from YAML, and absent from the built-in seed', async () => {
    expect(
      defaultSeed()
        .resourceGroups.flatMap((rg) => rg.clusters)
        .some((c) => 'relayType' in c),
    ).toBe(false);
    const loaded = loadSeedFile(await seedFileWithRelayType('byor'));
    expect(loaded.resourceGroups[0]!.clusters.find((c) => c.name === 'demo')!.relayType).toBe('byor');
  });

  it('refuses anything but a non-empty string', async () => {
    for (const relayType of ['', 7, ['byor']]) {
      const file = await seedFileWithRelayType(relayType);
      expect(() => loadSeedFile(file), JSON.stringify(relayType)).toThrow(/cluster demo: "relayType" must be a non-empty string\./);
    }
  });
});

describe('seed relayListenerDelayMs and relayTokenLifetimeSeconds', () => {
  async function seedFileWith(fields: Record<string, unknown>): Promise<string> {
    const file = join(dir, `seed-${Math.random().toString(36).slice(2)}.yaml`);
    await writeFile(file, stringify({ ...defaultSeed(), ...fields }));
    return file;
  }

  it('reads the notification delay from YAML; the built-in seed leaves it to the default', async () => {
    expect(defaultSeed().relayListenerDelayMs).toBeUndefined();
    expect(DEFAULT_RELAY_LISTENER_DELAY_MS).toBeGreaterThan(0);
    expect(loadSeedFile(await seedFileWith({ relayListenerDelayMs: 1500 })).relayListenerDelayMs).toBe(1500);
    expect(loadSeedFile(await seedFileWith({ relayListenerDelayMs: 0 })).relayListenerDelayMs).toBe(0);
  });

  it('refuses a delay that is negative, not a number or over 10 minutes, and a lifetime under a second', async () => {
    for (const relayListenerDelayMs of [-1, '1s', 600_001]) {
      const file = await seedFileWith({ relayListenerDelayMs });
      expect(() => loadSeedFile(file), String(relayListenerDelayMs)).toThrow(/"relayListenerDelayMs" must be a number of milliseconds from 0 to 600000\./);
    }
    const file = await seedFileWith({ relayTokenLifetimeSeconds: 0 });
    expect(() => loadSeedFile(file)).toThrow(/"relayTokenLifetimeSeconds" must be a number of seconds, at least 1\./);
  });

  it('reads relayLatencyMs (0 included) and refuses one out of 0..10000', async () => {
    expect(defaultSeed().relayLatencyMs).toBeUndefined();
    expect(loadSeedFile(await seedFileWith({ relayLatencyMs: 20 })).relayLatencyMs).toBe(20);
    expect(loadSeedFile(await seedFileWith({ relayLatencyMs: 0 })).relayLatencyMs).toBe(0);
    for (const relayLatencyMs of [-1, '20ms', 10_001]) {
      const file = await seedFileWith({ relayLatencyMs });
      expect(() => loadSeedFile(file), String(relayLatencyMs)).toThrow(/"relayLatencyMs" must be a number of milliseconds from 0 to 10000\./);
    }
  });
});
