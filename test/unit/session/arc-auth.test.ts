import type { AccessToken, TokenCredential } from '@azure/identity';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { describe, expect, it } from 'vitest';
import { createPopKey, type PopKey } from '../../../src/azure/pop/pop-key.js';
import { ArcproxyError } from '../../../src/errors/index.js';
import { arcServerAuth, DeferredUpstreamAuth, type ArcAuthOptions } from '../../../src/session/arc-auth.js';

const CLUSTER = '/subscriptions/s/resourceGroups/rg/providers/Microsoft.Kubernetes/connectedClusters/c';
let shared: Promise<PopKey> | undefined;
const popKey = (): Promise<PopKey> => (shared ??= createPopKey());

function credential(token: string): TokenCredential & { calls: number } {
  const c = {
    calls: 0,
    async getToken(): Promise<AccessToken> {
      c.calls++;
      return { token, expiresOnTimestamp: Date.now() + 3_600_000 };
    },
  };
  return c;
}

function options(extra: Partial<ArcAuthOptions>): ArcAuthOptions {
  return {
    choice: 'auto',
    bearer: credential('plain-at'),
    popSource: async () => ({ credential: credential('pop-at') }),
    key: popKey,
    clusterArmId: CLUSTER,
    onRefresh: () => undefined,
    onRefreshError: () => undefined,
    ...extra,
  };
}

describe('how requests authenticate to the cluster in Entra mode', () => {
  it('sends an SHR around the PoP token when the source can get one', async () => {
    const auth = await arcServerAuth(options({}));
    expect(auth.scheme).toBe('pop');
    const shr = await auth.getToken();
    expect(decodeProtectedHeader(shr)).toMatchObject({ typ: 'pop', kid: (await popKey()).kid });
    expect(decodeJwt(shr)).toMatchObject({ at: 'pop-at', u: CLUSTER });
    auth.close();
  });

  it('falls back to the plain token in auto mode, with the reason', async () => {
    const auth = await arcServerAuth(options({ popSource: async () => ({ unavailable: 'managed identity cannot.' }) }));
    expect(auth).toMatchObject({ scheme: 'bearer', fallbackReason: 'managed identity cannot.' });
    expect(await auth.getToken()).toBe('plain-at');
  });

  it('refuses --auth-scheme pop with a source that cannot, saying what to do', async () => {
    const err = await arcServerAuth(options({ choice: 'pop', popSource: async () => ({ unavailable: 'managed identity cannot.' }) })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ArcproxyError);
    expect(err).toMatchObject({ code: 'ARCPROXY_POP_UNAVAILABLE', exitCode: 2 });
    expect((err as Error).message).toMatch(/managed identity cannot\..*--auth-scheme bearer/);
  });

  it('in bearer mode never makes or asks for a PoP key', async () => {
    let asked = 0;
    const auth = await arcServerAuth(
      options({
        choice: 'bearer',
        key: () => {
          asked++;
          return popKey();
        },
      }),
    );
    expect(auth.scheme).toBe('bearer');
    expect(await auth.getToken()).toBe('plain-at');
    expect(asked).toBe(0);
  });

  it('lets requests that come before start-up decided wait, then answers them', async () => {
    const deferred = new DeferredUpstreamAuth();
    expect(deferred.upstream.kind).toBe('entra');
    const early = deferred.upstream.kind === 'entra' ? deferred.upstream.getToken() : Promise.reject(new Error('not entra'));
    deferred.set(await arcServerAuth(options({ choice: 'bearer' })));
    expect(await early).toBe('plain-at');
  });

  it('fails waiting requests when start-up failed', async () => {
    const deferred = new DeferredUpstreamAuth();
    const early = deferred.upstream.kind === 'entra' ? deferred.upstream.getToken() : Promise.resolve('');
    deferred.fail(new Error('sign-in failed'));
    await expect(early).rejects.toThrow('sign-in failed');
  });
});
