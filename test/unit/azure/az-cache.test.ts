import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readAzCliLogin } from '../../../src/azure/az-cache.js';

const AZ = '04b07795-8ddb-461a-bbee-02f9e1bf7b46';
const SUB = '11111111-2222-3333-4444-555555555555';
const TENANT = 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee';
const HID = 'uid-1.utid-1';

/** A config dir as az leaves it on Linux: profile (with a BOM) and MSAL's cache in its cross-language shape. */
async function azDir(opts: { userType?: string; cache?: object | null } = {}): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'az-'));
  const profile = {
    subscriptions: [{ id: SUB, name: 'dev', tenantId: TENANT, isDefault: true, user: { name: 'Ada@Contoso.com', type: opts.userType ?? 'user' } }],
  };
  await writeFile(join(dir, 'azureProfile.json'), `\uFEFF${JSON.stringify(profile)}`);
  const cache = {
    Account: {
      [`${HID}-login.microsoftonline.com-${TENANT}`]: {
        home_account_id: HID,
        environment: 'login.microsoftonline.com',
        realm: TENANT,
        username: 'ada@contoso.com',
      },
    },
    RefreshToken: {
      [`${HID}-login.microsoftonline.com-refreshtoken-other--`]: {
        home_account_id: HID,
        environment: 'login.microsoftonline.com',
        client_id: 'other',
        secret: 'wrong-rt',
        credential_type: 'RefreshToken',
      },
      [`${HID}-login.microsoftonline.com-refreshtoken-${AZ}--`]: {
        home_account_id: HID,
        environment: 'login.microsoftonline.com',
        client_id: AZ,
        secret: 'az-rt',
        credential_type: 'RefreshToken',
      },
    },
  };
  if (opts.cache !== null) await writeFile(join(dir, 'msal_token_cache.json'), JSON.stringify(opts.cache ?? cache));
  return dir;
}

const authority = { authorityHost: 'https://login.microsoftonline.com' };

describe("the Azure CLI's login", () => {
  it("finds az's refresh token for the default subscription's user and tenant", async () => {
    const dir = await azDir();
    expect(await readAzCliLogin({ AZURE_CONFIG_DIR: dir }, '/nowhere', authority)).toEqual({
      refreshToken: 'az-rt',
      tenantId: TENANT,
      username: 'Ada@Contoso.com',
    });
  });

  it('looks for the subscription the session uses', async () => {
    const dir = await azDir();
    expect(await readAzCliLogin({ AZURE_CONFIG_DIR: dir }, '/nowhere', { ...authority, subscriptionId: 'ffffffff-2222-3333-4444-555555555555' })).toMatchObject(
      {
        unavailable: expect.stringContaining('no signed-in user'),
      },
    );
  });

  it('takes --subscription as an id or a name, as az does', async () => {
    const dir = await azDir();
    expect(await readAzCliLogin({ AZURE_CONFIG_DIR: dir }, '/nowhere', { ...authority, subscriptionId: SUB.toUpperCase() })).toMatchObject({
      refreshToken: 'az-rt',
    });
    expect(await readAzCliLogin({ AZURE_CONFIG_DIR: dir }, '/nowhere', { ...authority, subscriptionId: 'Dev' })).toMatchObject({ refreshToken: 'az-rt' });
  });

  it('says why when the cache is missing (encrypted on Windows), az is a service principal, or another cloud', async () => {
    expect(await readAzCliLogin({ AZURE_CONFIG_DIR: await azDir({ cache: null }) }, '/x', authority)).toMatchObject({
      unavailable: expect.stringContaining('encrypts'),
    });
    expect(await readAzCliLogin({ AZURE_CONFIG_DIR: await azDir({ userType: 'servicePrincipal' }) }, '/x', authority)).toMatchObject({
      unavailable: expect.stringContaining('service principal'),
    });
    expect(await readAzCliLogin({ AZURE_CONFIG_DIR: await azDir() }, '/x', { authorityHost: 'https://login.microsoftonline.us' })).toMatchObject({
      unavailable: expect.stringContaining('no refresh token'),
    });
  });

  it('never looks in the working directory when there is no home directory', async () => {
    expect(await readAzCliLogin({}, '', authority)).toMatchObject({ unavailable: expect.stringContaining('no home directory') });
  });

  it('never puts a refresh token in what it says', async () => {
    const r = await readAzCliLogin({ AZURE_CONFIG_DIR: await azDir({ userType: 'servicePrincipal' }) }, '/x', authority);
    expect(JSON.stringify(r)).not.toContain('-rt');
  });
});
