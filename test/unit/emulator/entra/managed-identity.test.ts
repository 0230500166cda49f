/**
 * The emulated App Service identity endpoint: what @azure/identity's ManagedIdentityCredential
 * uses with IDENTITY_ENDPOINT and IDENTITY_HEADER. It insists on the secret header and the
 * api-version, names identities as App Service does, and hands out Bearer tokens the rest of the
 * emulator accepts for the seed's managed identity.
 */
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManagedIdentityCredential } from '@azure/identity';
import { ARC_SERVER_APP_ID, ARC_SERVER_SCOPE } from '../../../../src/azure/cloud.js';
import { createEntraEmulator, type EntraEmulator } from '../../../../src/emulator/entra/index.js';
import { defaultSeed, findPrincipal } from '../../../../src/emulator/seed.js';
import { makeTestTls } from './tls-fixture.js';

describe('Entra emulator: the managed-identity endpoint (App Service, 2019-08-01)', () => {
  const seed = defaultSeed();
  const identity = findPrincipal(seed, 'identity');
  let entra: EntraEmulator;

  beforeAll(async () => {
    const tls = await makeTestTls();
    entra = await createEntraEmulator({ seed, tls: tls.server });
  });
  afterAll(() => entra?.close());

  const get = async (query: Record<string, string>, header: string | null = entra.managedIdentity.header) => {
    const res = await fetch(`${entra.managedIdentity.endpoint}?${new URLSearchParams(query).toString()}`, {
      headers: header === null ? {} : { 'X-IDENTITY-HEADER': header },
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const ok = { 'api-version': '2019-08-01', resource: ARC_SERVER_APP_ID };

  it('gives the system-assigned identity a Bearer token for the resource', async () => {
    const res = await get(ok);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ token_type: 'Bearer', resource: ARC_SERVER_APP_ID, client_id: identity.clientId });
    expect(Number(res.body.expires_on)).toBeGreaterThan(Date.now() / 1000);
    const claims = decodeJwt(res.body.access_token as string);
    expect(claims).toMatchObject({ aud: ARC_SERVER_APP_ID, oid: identity.objectId, idtyp: 'app', tid: seed.tenantId });
    expect(claims.cnf).toBeUndefined();
    await expect(entra.verifyAccessToken(res.body.access_token as string, { audience: ARC_SERVER_APP_ID })).resolves.toMatchObject({ oid: identity.objectId });
  });

  it('names a user-assigned identity by client id, and refuses one it does not have', async () => {
    expect((await get({ ...ok, client_id: identity.clientId! })).status).toBe(200);
    expect((await get({ ...ok, client_id: findPrincipal(seed, 'ci').clientId! })).status).toBe(400);
    expect((await get({ ...ok, mi_res_id: '/subscriptions/x/resourceGroups/y/providers/Microsoft.ManagedIdentity/userAssignedIdentities/z' })).status).toBe(
      400,
    );
  });

  it('refuses a missing or wrong secret header, another api-version, and a missing resource', async () => {
    expect((await get(ok, null)).status).toBe(401);
    expect((await get(ok, 'not-the-secret')).status).toBe(401);
    expect((await get({ ...ok, 'api-version': '2017-09-01' })).status).toBe(400);
    expect((await get({ 'api-version': '2019-08-01' })).status).toBe(400);
  });

  it('is what ManagedIdentityCredential uses with IDENTITY_ENDPOINT and IDENTITY_HEADER (MSAL reads process.env)', async () => {
    const saved = { endpoint: process.env.IDENTITY_ENDPOINT, header: process.env.IDENTITY_HEADER };
    process.env.IDENTITY_ENDPOINT = entra.managedIdentity.endpoint;
    process.env.IDENTITY_HEADER = entra.managedIdentity.header;
    try {
      const token = await new ManagedIdentityCredential().getToken(ARC_SERVER_SCOPE);
      expect(decodeJwt(token.token)).toMatchObject({ aud: ARC_SERVER_APP_ID, oid: identity.objectId });
    } finally {
      for (const [name, value] of [['IDENTITY_ENDPOINT', saved.endpoint] as const, ['IDENTITY_HEADER', saved.header] as const]) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    }
  });
});
