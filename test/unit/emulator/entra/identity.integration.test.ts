/**
 * @azure/identity against the emulated Entra ID, configured only through a cloud profile
 * (authority host, instance discovery off, trusted CA), with TLS verification on.
 */
import { ClientCertificateCredential, ClientSecretCredential, DeviceCodeCredential, WorkloadIdentityCredential } from '@azure/identity';
import { decodeJwt } from 'jose';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ARC_SERVER_APP_ID, ARC_SERVER_SCOPE, armScope } from '../../../../src/azure/cloud.js';
import type { CloudProfile } from '../../../../src/net/cloud-profile.js';
import { closeCloudTransport, credentialOptions } from '../../../../src/azure/transport.js';
import { createEntraEmulator, type EntraEmulator } from '../../../../src/emulator/entra/index.js';
import { defaultSeed, findPrincipal } from '../../../../src/emulator/seed.js';
import { makeRsaCertificate, type TestCertificate } from './cert-fixture.js';
import { makeTestTls } from './tls-fixture.js';

const AZURE_CLI_CLIENT_ID = '04b07795-8ddb-461a-bbee-02f9e1bf7b46';

describe('@azure/identity against the Entra emulator', () => {
  const seed = defaultSeed();
  let entra: EntraEmulator;
  let cloud: CloudProfile;
  let tmp: string;
  let cert: TestCertificate;

  beforeAll(async () => {
    cert = await makeRsaCertificate();
    findPrincipal(seed, 'ci').clientCertificate = cert.certPem;
    const tls = await makeTestTls();
    entra = await createEntraEmulator({ seed, tls: tls.server });
    cloud = {
      name: 'emulator',
      resourceManagerEndpoint: 'https://127.0.0.1:1',
      resourceManagerAudience: 'https://management.core.windows.net/',
      authorityHost: entra.url,
      relaySuffix: 'servicebus.emulator.test',
      ca: tls.ca,
      disableInstanceDiscovery: true,
    };
    tmp = mkdtempSync(join(tmpdir(), 'arcproxy-entra-'));
  });

  afterAll(async () => {
    closeCloudTransport(cloud);
    await entra?.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('ClientSecretCredential gets an ARM token and an Arc server token', async () => {
    const ci = findPrincipal(seed, 'ci');
    const credential = new ClientSecretCredential(seed.tenantId, ci.clientId!, ci.clientSecret!, credentialOptions(cloud));
    const arm = await credential.getToken(armScope(cloud));
    const armClaims = decodeJwt(arm.token);
    expect(armClaims.aud).toBe('https://management.core.windows.net/');
    expect(armClaims.oid).toBe(ci.objectId);
    expect(armClaims.appid).toBe(ci.clientId);
    expect(armClaims.iss).toBe(entra.issuer(seed.tenantId));
    expect(arm.expiresOnTimestamp).toBeGreaterThan(Date.now() + 3000_000);

    const arc = await credential.getToken(ARC_SERVER_SCOPE);
    expect(decodeJwt(arc.token).aud).toBe(ARC_SERVER_APP_ID);
    const verified = await entra.verifyAccessToken(arc.token, { audience: ARC_SERVER_APP_ID });
    expect(verified.groups).toEqual(ci.groups);
  });

  it('ClientSecretCredential with a wrong secret fails with AADSTS7000215', async () => {
    const ci = findPrincipal(seed, 'ci');
    const credential = new ClientSecretCredential(seed.tenantId, ci.clientId!, 'not-the-secret', credentialOptions(cloud));
    await expect(credential.getToken(armScope(cloud))).rejects.toThrow(/AADSTS7000215/);
  });

  it('DeviceCodeCredential signs in as the seed user, then renews for another scope with the refresh token', async () => {
    const prompts: string[] = [];
    const credential = new DeviceCodeCredential({
      ...credentialOptions(cloud),
      tenantId: seed.tenantId,
      clientId: AZURE_CLI_CLIENT_ID,
      userPromptCallback: (info) => {
        prompts.push(info.message);
      },
    });
    const user = seed.principals.find((p) => p.kind === 'user')!;
    const arm = await credential.getToken(armScope(cloud));
    expect(prompts).toHaveLength(1);
    expect(prompts[0]).toMatch(/enter the code [A-Z0-9]{9} to authenticate/);
    const armClaims = decodeJwt(arm.token);
    expect(armClaims.oid).toBe(user.objectId);
    expect(armClaims.upn).toBe(user.upn);
    expect(armClaims.aud).toBe('https://management.core.windows.net/');

    const arc = await credential.getToken(ARC_SERVER_SCOPE);
    expect(prompts).toHaveLength(1); // no second prompt: MSAL used the refresh token
    const arcClaims = await entra.verifyAccessToken(arc.token, { audience: ARC_SERVER_APP_ID });
    expect(arcClaims.oid).toBe(user.objectId);
    expect(arcClaims.preferred_username).toBe(user.upn);
  });

  it('DeviceCodeCredential works through the "organizations" tenant alias', async () => {
    const credential = new DeviceCodeCredential({
      ...credentialOptions(cloud),
      tenantId: 'organizations',
      clientId: AZURE_CLI_CLIENT_ID,
      userPromptCallback: () => undefined,
    });
    const token = await credential.getToken(ARC_SERVER_SCOPE);
    expect((await entra.verifyAccessToken(token.token, { audience: ARC_SERVER_APP_ID })).tid).toBe(seed.tenantId);
  });

  it('WorkloadIdentityCredential exchanges a federated token from the emulator', async () => {
    const ci = findPrincipal(seed, 'ci');
    const file = join(tmp, 'federated-token');
    writeFileSync(file, await entra.mintFederatedToken(ci.clientId!));
    const credential = new WorkloadIdentityCredential({
      ...credentialOptions(cloud),
      tenantId: seed.tenantId,
      clientId: ci.clientId!,
      tokenFilePath: file,
    });
    const token = await credential.getToken(armScope(cloud));
    expect(decodeJwt(token.token).oid).toBe(ci.objectId);
  });

  it('ClientCertificateCredential signs in with the certificate the seed holds for the principal', async () => {
    const ci = findPrincipal(seed, 'ci');
    const file = join(tmp, 'client.pem');
    writeFileSync(file, `${cert.certPem}\n${cert.keyPem}`);
    const credential = new ClientCertificateCredential(seed.tenantId, ci.clientId!, { certificatePath: file }, credentialOptions(cloud));
    const token = await credential.getToken(ARC_SERVER_SCOPE);
    expect(decodeJwt(token.token)).toMatchObject({ aud: ARC_SERVER_APP_ID, oid: ci.objectId });
  });

  it('a credential without the profile CA cannot reach the emulator (TLS verification stays on)', async () => {
    const ci = findPrincipal(seed, 'ci');
    const untrusting = { ...cloud, ca: undefined };
    const credential = new ClientSecretCredential(seed.tenantId, ci.clientId!, ci.clientSecret!, credentialOptions(untrusting));
    // MSAL reports the failed TLS handshake of OIDC discovery as an endpoint resolution error.
    await expect(credential.getToken(armScope(cloud))).rejects.toThrow(/endpoints_resolution_error/);
  });
});
