/** The client-secret sign-in made without @azure/identity, against the emulated Entra ID (TLS verification on). */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeJwt } from 'jose';
import { ClientSecretTokenCredential } from '../../../src/azure/secret-credential.js';
import { EntraTokenError } from '../../../src/azure/pop/token-http.js';
import type { CloudProfile } from '../../../src/net/cloud-profile.js';
import type { EntraEmulator } from '../../../src/emulator/entra/index.js';
import { defaultSeed, findPrincipal } from '../../../src/emulator/seed.js';
import { startTestEntra } from '../emulator/entra/tls-fixture.js';

const ARM = 'https://management.core.windows.net/.default';

describe('ClientSecretTokenCredential', () => {
  const seed = defaultSeed();
  const ci = findPrincipal(seed, 'ci');
  let entra: EntraEmulator;
  let cloud: CloudProfile;

  beforeAll(async () => {
    ({ entra, cloud } = await startTestEntra(seed));
  });
  afterAll(() => entra?.close());

  const credential = (secret = ci.clientSecret!, now?: () => number) =>
    new ClientSecretTokenCredential({ cloud, tenantId: seed.tenantId, clientId: ci.clientId!, clientSecret: secret, ...(now ? { now } : {}) });

  it("gets a bearer token for the scope's audience and the principal", async () => {
    const token = await credential().getToken(ARM);
    expect(token.tokenType).toBe('Bearer');
    const claims = decodeJwt(token.token);
    expect(claims.aud).toBe('https://management.core.windows.net/');
    expect(claims.oid).toBe(ci.objectId);
    expect(token.expiresOnTimestamp).toBeGreaterThan(Date.now() + 10 * 60_000);
  });

  it('keeps a token until 5 minutes before it expires, then asks for a new one', async () => {
    let now = Date.now();
    const cred = credential(undefined, () => now);
    const first = await cred.getToken(ARM);
    expect((await cred.getToken([ARM])).token).toBe(first.token);
    now = first.expiresOnTimestamp - 4 * 60_000;
    const renewed = await cred.getToken(ARM);
    expect(renewed.token).not.toBe(first.token);
    expect((await cred.getToken(ARM)).token).toBe(renewed.token);
  });

  it('a claims challenge bypasses the kept token', async () => {
    const cred = credential();
    const first = await cred.getToken(ARM);
    const challenged = await cred.getToken(ARM, { claims: '{"access_token":{"nbf":{"essential":true,"value":"1700000000"}}}' });
    expect(challenged.token).not.toBe(first.token);
  });

  it("a wrong secret is Entra's refusal, without the secret", async () => {
    const err = (await credential('definitely-wrong')
      .getToken(ARM)
      .catch((e: unknown) => e)) as EntraTokenError;
    expect(err).toBeInstanceOf(EntraTokenError);
    expect(err.oauthError).toBe('invalid_client');
    expect(err.message).toContain('AADSTS7000215');
    expect(err.message).not.toContain('definitely-wrong');
  });
});
