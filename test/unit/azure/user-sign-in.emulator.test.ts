/**
 * Device-code sign-in as a user sees it, against the emulated Entra ID: one prompt gives ARM's
 * token and the cluster's PoP-bound token; the refresh token is saved in arcproxy's token cache
 * (0600, written whole) and the next run signs in from it without asking; a corrupt cache file
 * is reported and ignored; a cached sign-in Entra no longer honours leads to a new prompt.
 */
import { mkdtemp, readFile, readdir, rm, stat, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArcproxyCredential } from '../../../src/azure/credentials.js';
import { ARC_SERVER_APP_ID, ARC_SERVER_SCOPE } from '../../../src/azure/cloud.js';
import { createPopKey } from '../../../src/azure/pop/pop-key.js';
import { popSourceFor } from '../../../src/azure/pop/pop-source.js';
import { tokenCachePath } from '../../../src/azure/token-cache.js';
import type { CloudProfile } from '../../../src/net/cloud-profile.js';
import type { EntraEmulator } from '../../../src/emulator/entra/index.js';
import { defaultSeed, findPrincipal } from '../../../src/emulator/seed.js';
import { startTestEntra } from '../emulator/entra/tls-fixture.js';

const ARM_SCOPE = 'https://management.core.windows.net/.default';

describe('device-code sign-in with a persisted token cache', () => {
  const seed = defaultSeed();
  const developer = findPrincipal(seed, 'developer');
  let entra: EntraEmulator;
  let cloud: CloudProfile;
  let home: string;

  beforeAll(async () => {
    ({ entra, cloud } = await startTestEntra(seed));
    home = await mkdtemp(join(tmpdir(), 'arcproxy-signin-'));
  });
  afterAll(async () => {
    await entra?.close();
    await rm(home, { recursive: true, force: true });
  });

  /** One arcproxy run's credential: device code on request, no terminal. */
  function run(env: Record<string, string> = {}) {
    const prompts: string[] = [];
    const warnings: string[] = [];
    const credential = new ArcproxyCredential({
      env: { AZURE_TENANT_ID: seed.tenantId, ARCPROXY_DEVICE_CODE: '1', ...env },
      interactive: false,
      cloud,
      homeDir: home,
      prompt: (m) => prompts.push(m),
      warn: (m) => warnings.push(m),
    });
    return { credential, prompts, warnings };
  }

  async function clusterToken(credential: ArcproxyCredential): Promise<{ token: string; kid: string }> {
    const key = await createPopKey();
    const source = await popSourceFor(credential.kind, { env: {}, cloud, userSignIn: credential.userSignIn }, key);
    if (!('credential' in source)) throw new Error(source.unavailable);
    const token = await source.credential.getToken(ARC_SERVER_SCOPE);
    return { token: token!.token, kid: key.kid };
  }

  const cacheFile = () => tokenCachePath({}, home)!;

  it('asks once for ARM and the cluster, binds the cluster token to the key, and saves only the refresh token, 0600', async () => {
    const first = run();
    // As the ARM client asks: with CAE. The cluster's token is asked for without; still one sign-in.
    const arm = await first.credential.getToken(ARM_SCOPE, { enableCae: true });
    expect(first.credential.kind).toBe('device-code');
    expect(decodeJwt(arm.token)).toMatchObject({ aud: 'https://management.core.windows.net/', upn: developer.upn });
    const cluster = await clusterToken(first.credential);
    expect(decodeJwt(cluster.token)).toMatchObject({ aud: ARC_SERVER_APP_ID, cnf: { kid: cluster.kid }, upn: developer.upn });
    expect(first.prompts).toHaveLength(1);
    expect(first.prompts[0]).toMatch(/enter the code [A-Z0-9]+/);

    expect(cacheFile()).toBe(join(home, '.cache', 'arcproxy', 'token-cache.json'));
    expect((await stat(cacheFile())).mode & 0o777).toBe(0o600);
    expect((await stat(dirname(cacheFile()))).mode & 0o777).toBe(0o700);
    const text = await readFile(cacheFile(), 'utf8');
    expect(text).not.toContain(arm.token);
    expect(text).not.toContain(cluster.token);
    const saved = JSON.parse(text) as { signIns: Record<string, { refreshToken: string; username: string }> };
    expect(Object.keys(saved.signIns)).toEqual([`${new URL(entra.url).host}|${seed.tenantId}|04b07795-8ddb-461a-bbee-02f9e1bf7b46`]);
    expect(Object.values(saved.signIns)[0]).toMatchObject({ refreshToken: expect.any(String), username: developer.upn });
    // Written whole and renamed: no temporary file is left beside it.
    expect(await readdir(dirname(cacheFile()))).toEqual(['token-cache.json']);
    expect(first.warnings).toEqual([]);
  });

  it('the next run signs in from the cache without asking', async () => {
    const second = run();
    await second.credential.getToken(ARM_SCOPE);
    const cluster = await clusterToken(second.credential);
    expect(decodeJwt(cluster.token).cnf).toEqual(expect.objectContaining({ kid: cluster.kid }));
    expect(second.prompts).toEqual([]);
    expect(second.credential.kind).toBe('device-code');
  });

  it('without a terminal the saved sign-in is used, and nothing is ever asked', async () => {
    const prompts: string[] = [];
    const ctx = { env: { AZURE_TENANT_ID: seed.tenantId, CI: 'true' }, interactive: false, cloud, prompt: (m: string) => prompts.push(m) };
    const saved = new ArcproxyCredential({ ...ctx, homeDir: home });
    await saved.getToken(ARM_SCOPE);
    expect(saved.kind).toBe('device-code');
    expect((await clusterToken(saved)).token).toBeTruthy();

    const nothingSaved = new ArcproxyCredential({ ...ctx, homeDir: join(home, 'elsewhere') });
    const err = (await nothingSaved.getToken(ARM_SCOPE).catch((e: unknown) => e)) as Error & { code?: string };
    expect(err.code).toBe('ARCPROXY_NO_CREDENTIAL');
    expect(err.message).toMatch(/no device-code sign-in is saved/);
    expect(err.message).toMatch(/ARCPROXY_DEVICE_CODE=1/);
    expect(prompts).toEqual([]);
  });

  it('ARCPROXY_TOKEN_CACHE=off neither reads nor writes the cache', async () => {
    const before = await readFile(cacheFile(), 'utf8');
    const off = run({ ARCPROXY_TOKEN_CACHE: 'off' });
    await off.credential.getToken(ARM_SCOPE);
    expect(off.prompts).toHaveLength(1);
    expect(await readFile(cacheFile(), 'utf8')).toBe(before);
  });

  it('a cached sign-in Entra refuses is forgotten and the user is asked again', async () => {
    const key = Object.keys((JSON.parse(await readFile(cacheFile(), 'utf8')) as { signIns: object }).signIns)[0]!;
    await writeFile(cacheFile(), JSON.stringify({ version: 1, signIns: { [key]: { refreshToken: 'revoked-or-made-up', savedAt: 'x' } } }), { mode: 0o600 });
    const again = run();
    await again.credential.getToken(ARM_SCOPE);
    expect(again.prompts).toHaveLength(1);
    const saved = JSON.parse(await readFile(cacheFile(), 'utf8')) as { signIns: Record<string, { refreshToken: string }> };
    expect(saved.signIns[key]!.refreshToken).not.toBe('revoked-or-made-up');
  });

  it('a corrupt cache file is reported once, ignored and replaced; it never stops the sign-in', async () => {
    await writeFile(cacheFile(), '{ not json', { mode: 0o600 });
    const corrupt = run();
    await corrupt.credential.getToken(ARM_SCOPE);
    await clusterToken(corrupt.credential);
    expect(corrupt.prompts).toHaveLength(1);
    expect(corrupt.warnings).toHaveLength(1);
    expect(corrupt.warnings[0]).toContain(cacheFile());
    expect(corrupt.warnings[0]).toMatch(/ignoring it/);
    expect(JSON.parse(await readFile(cacheFile(), 'utf8'))).toMatchObject({ version: 1 });
  });

  it('finds its cache from XDG_CACHE_HOME, and never in the working directory without a home', async () => {
    expect(tokenCachePath({ XDG_CACHE_HOME: '/x/cache' }, '/home/u', 'linux')).toBe('/x/cache/arcproxy/token-cache.json');
    expect(tokenCachePath({ XDG_CACHE_HOME: 'relative' }, '/home/u', 'linux')).toBe('/home/u/.cache/arcproxy/token-cache.json');
    expect(tokenCachePath({ ARCPROXY_TOKEN_CACHE: '/elsewhere/c.json' }, '/home/u', 'linux')).toBe('/elsewhere/c.json');
    expect(tokenCachePath({ ARCPROXY_TOKEN_CACHE: 'off' }, '/home/u', 'linux')).toBeUndefined();
    expect(tokenCachePath({}, '', 'linux')).toBeUndefined();
  });

  it('a cache path that cannot be used is reported once and the sign-in still works', async () => {
    const blocked = join(home, 'blocked');
    await mkdir(blocked, { recursive: true });
    await writeFile(join(blocked, 'arcproxy'), 'a file where the directory should be');
    const r = run({ XDG_CACHE_HOME: blocked });
    const arm = await r.credential.getToken(ARM_SCOPE);
    expect(arm.token).toBeTruthy();
    expect(r.warnings).toHaveLength(1);
    expect(r.warnings[0]).toMatch(/token cache .*blocked.*ENOTDIR/);
    expect(r.warnings.join('\n')).not.toContain(arm.token);
  });

  it('an expired Azure CLI login is an absent one: device code signs in instead, or arcproxy says to run az login', async () => {
    const azHome = await mkdtemp(join(tmpdir(), 'arcproxy-az-'));
    try {
      const environment = new URL(entra.url).host;
      await mkdir(join(azHome, '.azure'));
      const profile = { subscriptions: [{ id: 'sub', name: 'sub', tenantId: seed.tenantId, isDefault: true, user: { name: developer.upn, type: 'user' } }] };
      const account = { home_account_id: 'u.t', environment, realm: seed.tenantId, username: developer.upn };
      const rt = {
        home_account_id: 'u.t',
        environment,
        client_id: '04b07795-8ddb-461a-bbee-02f9e1bf7b46',
        secret: 'expired-az-refresh-token',
        credential_type: 'RefreshToken',
      };
      await writeFile(join(azHome, '.azure', 'azureProfile.json'), JSON.stringify(profile));
      await writeFile(join(azHome, '.azure', 'msal_token_cache.json'), JSON.stringify({ Account: { a: account }, RefreshToken: { r: rt } }));
      const env = { AZURE_TENANT_ID: seed.tenantId, ARCPROXY_TOKEN_CACHE: 'off' };
      const prompts: string[] = [];
      const withDeviceCode = new ArcproxyCredential({
        env: { ...env, ARCPROXY_DEVICE_CODE: '1' },
        interactive: false,
        cloud,
        homeDir: azHome,
        prompt: (m) => prompts.push(m),
      });
      await withDeviceCode.getToken(ARM_SCOPE);
      expect(withDeviceCode.kind).toBe('device-code');
      expect(prompts).toHaveLength(1);

      const without = new ArcproxyCredential({ env, interactive: false, cloud, homeDir: azHome, prompt: (m) => prompts.push(m) });
      const err = (await without.getToken(ARM_SCOPE).catch((e: unknown) => e)) as Error & { code?: string };
      expect(err.code).toBe('ARCPROXY_NO_CREDENTIAL');
      expect(err.message).toMatch(/expired or was revoked; run az login again/);
      expect(err.message).not.toContain('expired-az-refresh-token');
    } finally {
      await rm(azHome, { recursive: true, force: true });
    }
  });
});
