/** YAML seed files: a pod's generated log size (logBytes) and a cluster's relayType are read and checked. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { defaultSeed, loadSeedFile, type Seed } from '../../../src/emulator/seed.js';

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
