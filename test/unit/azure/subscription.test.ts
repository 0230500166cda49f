import { mkdtemp, mkdir, writeFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { resolveSubscription } from '../../../src/azure/subscription.js';

const ID_A = '11111111-1111-4111-8111-111111111111';
const ID_B = '22222222-2222-4222-8222-222222222222';

describe('subscription resolution', () => {
  let home: string;
  let armCalls = 0;
  const listFromArm = async () => {
    armCalls++;
    return [{ id: ID_B, name: 'From ARM' }];
  };
  beforeEach(async () => {
    home = await mkdtemp(join(tmpdir(), 'arcproxy-sub-'));
    armCalls = 0;
    await mkdir(join(home, '.azure'));
    // The Azure CLI writes its profile with a byte-order mark.
    await writeFile(
      join(home, '.azure', 'azureProfile.json'),
      '\uFEFF' +
        JSON.stringify({
          subscriptions: [
            { id: ID_A, name: 'Dev', isDefault: true },
            { id: ID_B, name: 'Prod', isDefault: false },
          ],
        }),
    );
  });
  afterEach(() => rm(home, { recursive: true, force: true }));

  it('takes an id from the flag as it is', async () => {
    expect(await resolveSubscription({ flag: ID_B, env: {}, homeDir: home, listFromArm })).toBe(ID_B);
    expect(armCalls).toBe(0);
  });
  it('resolves a name from the CLI profile, then from ARM', async () => {
    expect(await resolveSubscription({ flag: 'prod', env: {}, homeDir: home, listFromArm })).toBe(ID_B);
    expect(armCalls).toBe(0);
    expect(await resolveSubscription({ flag: 'From ARM', env: {}, homeDir: home, listFromArm })).toBe(ID_B);
    expect(armCalls).toBe(1);
  });
  it('falls back to AZURE_SUBSCRIPTION_ID, then the CLI default', async () => {
    expect(await resolveSubscription({ flag: undefined, env: { AZURE_SUBSCRIPTION_ID: ID_B }, homeDir: home, listFromArm })).toBe(ID_B);
    expect(await resolveSubscription({ flag: undefined, env: {}, homeDir: home, listFromArm })).toBe(ID_A);
  });
  it('says how to choose one when there is none', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'arcproxy-sub-empty-'));
    const err = await resolveSubscription({ flag: undefined, env: {}, homeDir: empty, listFromArm }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ARCPROXY_NO_SUBSCRIPTION' });
    expect((err as Error).message).toMatch(/--subscription/);
    await rm(empty, { recursive: true, force: true });
  });
  it('reports an unknown name', async () => {
    await expect(resolveSubscription({ flag: 'nope', env: {}, homeDir: home, listFromArm })).rejects.toMatchObject({ code: 'ARCPROXY_SUBSCRIPTION_NOT_FOUND' });
  });
});
