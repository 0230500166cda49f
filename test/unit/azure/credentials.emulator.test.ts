/** The product's credential chain against the emulated Entra ID, TLS verification on. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeJwt } from 'jose';
import { ArcproxyCredential } from '../../../src/azure/credentials.js';
import { ARC_SERVER_APP_ID, ARC_SERVER_SCOPE } from '../../../src/azure/cloud.js';
import type { CloudProfile } from '../../../src/net/cloud-profile.js';
import type { EntraEmulator } from '../../../src/emulator/entra/index.js';
import { defaultSeed, findPrincipal } from '../../../src/emulator/seed.js';
import { ExitCode } from '../../../src/errors/index.js';
import { startTestEntra } from '../emulator/entra/tls-fixture.js';

describe('ArcproxyCredential against the emulated Entra ID', () => {
  const seed = defaultSeed();
  const ci = findPrincipal(seed, 'ci');
  let entra: EntraEmulator;
  let cloud: CloudProfile;

  beforeAll(async () => {
    ({ entra, cloud } = await startTestEntra(seed));
  });
  afterAll(() => entra?.close());

  const env = (secret = ci.clientSecret!) => ({ AZURE_TENANT_ID: seed.tenantId, AZURE_CLIENT_ID: ci.clientId!, AZURE_CLIENT_SECRET: secret, CI: 'true' });

  it('signs in with the environment service principal and sticks to it', async () => {
    const cred = new ArcproxyCredential({ env: env(), interactive: false, cloud, prompt: () => undefined });
    const token = await cred.getToken(ARC_SERVER_SCOPE);
    const claims = decodeJwt(token.token);
    expect(claims.aud).toBe(ARC_SERVER_APP_ID);
    expect(claims.oid).toBe(ci.objectId);
    expect(cred.kind).toBe('environment-secret');
    const arm = decodeJwt((await cred.getToken('https://management.core.windows.net/.default')).token);
    expect(arm.aud).toBe('https://management.core.windows.net/');
  });

  it('a wrong secret is an authentication failure that names the credential and hides the secret', async () => {
    const cred = new ArcproxyCredential({ env: env('definitely-wrong'), interactive: false, cloud, prompt: () => undefined });
    const err = (await cred.getToken(ARC_SERVER_SCOPE).catch((e: unknown) => e)) as Error & { code: string; exitCode: number };
    expect(err.code).toBe('ARCPROXY_AUTH_FAILED');
    expect(err.exitCode).toBe(ExitCode.authFailed);
    expect(err.message).toContain('AZURE_CLIENT_SECRET');
    expect(err.message).toContain('AADSTS7000215');
    expect(err.message).not.toContain('definitely-wrong');
  });

  it('without the emulator CA the sign-in fails: TLS verification stays on', async () => {
    const cred = new ArcproxyCredential({ env: env(), interactive: false, cloud: { ...cloud, ca: undefined }, prompt: () => undefined } as never);
    const err = (await cred.getToken(ARC_SERVER_SCOPE).catch((e: unknown) => e)) as Error;
    expect(err).toMatchObject({ code: 'ARCPROXY_AUTH_FAILED' });
    expect(err.message).toContain(entra.url);
  });

  it('device code is used only when interactive, and its instructions go to the prompt', async () => {
    const prompts: string[] = [];
    const cred = new ArcproxyCredential({ env: { AZURE_TENANT_ID: seed.tenantId }, interactive: true, cloud, prompt: (m) => prompts.push(m) });
    const token = await cred.getToken(ARC_SERVER_SCOPE);
    expect(cred.kind).toBe('device-code');
    expect(prompts.join('\n')).toMatch(/code/i);
    expect(decodeJwt(token.token).upn).toBe(findPrincipal(seed, 'developer').upn);
  });
});
