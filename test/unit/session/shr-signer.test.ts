import { afterEach, describe, expect, it, vi } from 'vitest';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { createPopKey, type PopKey } from '../../../src/azure/pop/pop-key.js';
import { ShrSigner } from '../../../src/session/shr-signer.js';

const CLUSTER = '/subscriptions/s/resourceGroups/rg/providers/Microsoft.Kubernetes/connectedClusters/c';
let key: PopKey | undefined;
const popKey = async (): Promise<PopKey> => (key ??= await createPopKey());

describe('ShrSigner', () => {
  afterEach(() => vi.useRealTimers());

  it('wraps the current access token for this cluster, signed with the PoP key', async () => {
    const k = await popKey();
    const signer = new ShrSigner({ accessToken: async () => 'at-1', key: k, clusterArmId: CLUSTER, now: () => 1_700_000_000_000 });
    const shr = await signer.getToken();
    expect(decodeProtectedHeader(shr)).toEqual({ typ: 'pop', alg: 'RS256', kid: k.kid });
    expect(decodeJwt(shr)).toMatchObject({ at: 'at-1', u: CLUSTER, ts: 1_700_000_000 });
  });

  it('answers from memory while the token is the same and the SHR young', async () => {
    let now = 0;
    const signer = new ShrSigner({ accessToken: async () => 'at-1', key: await popKey(), clusterArmId: CLUSTER, now: () => now, maxAgeMs: 1_000 });
    const first = await signer.getToken();
    now = 999;
    expect(await signer.getToken()).toBe(first);
    now = 1_000;
    const second = await signer.getToken();
    expect(second).not.toBe(first);
    expect(decodeJwt(second).ts).toBe(1);
  });

  it('signs again at once when the access token changed', async () => {
    let at = 'at-1';
    const signer = new ShrSigner({ accessToken: async () => at, key: await popKey(), clusterArmId: CLUSTER, now: () => 0 });
    await signer.getToken();
    at = 'at-2';
    expect(decodeJwt(await signer.getToken()).at).toBe('at-2');
  });

  it('re-signs on its timer, so requests find a fresh SHR waiting', async () => {
    vi.useFakeTimers();
    let now = 0;
    const signer = new ShrSigner({ accessToken: async () => 'at-1', key: await popKey(), clusterArmId: CLUSTER, now: () => now, resignMs: 60_000 });
    const first = await signer.getToken();
    signer.start();
    now = 60_000;
    await vi.advanceTimersByTimeAsync(60_000);
    signer.close();
    // The timer's SHR is served without signing on the request path: `ts` is the timer's time.
    now = 61_000;
    const next = await signer.getToken();
    expect(next).not.toBe(first);
    expect(decodeJwt(next).ts).toBe(60);
  });
});
