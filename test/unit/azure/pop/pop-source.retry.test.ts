/**
 * The cluster's proof-of-possession token requests are retried as ARM's are (token-retry.ts):
 * against the emulated Entra ID throttling the client-credentials grant, the PoP token comes after
 * the wait Entra asked for, and the wait is said; a wait over a minute fails at once.
 */
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ARC_SERVER_SCOPE } from '../../../../src/azure/cloud.js';
import { createPopKey, type PopKey } from '../../../../src/azure/pop/pop-key.js';
import { popSourceFor } from '../../../../src/azure/pop/pop-source.js';
import { EntraTokenError } from '../../../../src/azure/pop/token-http.js';
import { closeCloudTransport } from '../../../../src/azure/transport.js';
import type { EntraEmulator } from '../../../../src/emulator/entra/index.js';
import { defaultSeed, findPrincipal } from '../../../../src/emulator/seed.js';
import type { CloudProfile } from '../../../../src/net/cloud-profile.js';
import { startTestEntra } from '../../emulator/entra/tls-fixture.js';

describe('PoP token requests against a throttling Entra ID', () => {
  const seed = defaultSeed();
  const ci = findPrincipal(seed, 'ci');
  let entra: EntraEmulator;
  let cloud: CloudProfile;
  let key: PopKey;
  const told: string[] = [];

  beforeAll(async () => {
    ({ entra, cloud } = await startTestEntra(seed));
    key = await createPopKey();
  });
  afterAll(async () => {
    closeCloudTransport(cloud);
    await entra?.close();
  });

  const popCredential = async () => {
    const env = { AZURE_TENANT_ID: seed.tenantId, AZURE_CLIENT_ID: ci.clientId!, AZURE_CLIENT_SECRET: ci.clientSecret! };
    const source = await popSourceFor('environment-secret', { env, cloud, onThrottled: (m) => told.push(m) }, key);
    if (!('credential' in source)) throw new Error(source.unavailable);
    return source.credential;
  };

  it('waits as Entra asks, says so, and gets a token bound to the key', async () => {
    told.length = 0;
    entra.throttleNext(1, 0);
    const token = await (await popCredential()).getToken(ARC_SERVER_SCOPE);
    expect((decodeJwt(token!.token).cnf as { kid?: string }).kid).toBe(key.kid);
    expect(told).toEqual([expect.stringMatching(/wait 0 s before its next token request \(HTTP 429\)/)]);
  });

  it('fails at once, naming the wait, when Entra asks for more than a minute', async () => {
    told.length = 0;
    entra.throttleNext(1, 120);
    const err = await (await popCredential()).getToken(ARC_SERVER_SCOPE).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EntraTokenError);
    expect((err as EntraTokenError).message).toMatch(/wait 120 s before the next token request/);
    expect(told).toEqual([]);
  });
});
