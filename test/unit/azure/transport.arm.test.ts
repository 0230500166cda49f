/**
 * The product's Azure clients against the emulated Entra ID and ARM, reached by made-up host
 * names through a cloud profile's host map and CA: the path arcproxy takes against the emulator.
 * (What ArcArm makes of each answer: arm.test.ts.)
 */
import { ClientSecretCredential, DeviceCodeCredential } from '@azure/identity';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArcArm, listSubscriptions, type ClusterRef } from '../../../src/azure/arm.js';
import { ARC_SERVER_APP_ID, ARC_SERVER_SCOPE } from '../../../src/azure/cloud.js';
import type { CloudProfile } from '../../../src/net/cloud-profile.js';
import { closeCloudTransport, credentialOptions } from '../../../src/azure/transport.js';
import { createArmEmulator, type ArmEmulator } from '../../../src/emulator/arm/index.js';
import { createEntraEmulator, type EntraEmulator } from '../../../src/emulator/entra/index.js';
import { RelayDirectory } from '../../../src/emulator/relay-directory.js';
import { clusterResourceId, defaultSeed, DEFAULT_SUBSCRIPTION_ID as SUB, findPrincipal } from '../../../src/emulator/seed.js';
import { hasValidSignature, parseSas } from '../../../src/relay/sas.js';
import { makeTestTls } from '../emulator/entra/tls-fixture.js';

const seed = defaultSeed();
const demo: ClusterRef = { subscriptionId: SUB, resourceGroup: 'demo-rg', name: 'demo' };

describe("arcproxy's ARM client and @azure/identity through the cloud transport", () => {
  let entra: EntraEmulator;
  let arm: ArmEmulator;
  let relays: RelayDirectory;
  let cloud: CloudProfile;

  const credentialFor = (name: string) => {
    const p = findPrincipal(seed, name);
    return new ClientSecretCredential(seed.tenantId, p.clientId!, p.clientSecret!, credentialOptions(cloud));
  };

  beforeAll(async () => {
    const tls = await makeTestTls(['login.emulator.test', 'management.emulator.test']);
    entra = await createEntraEmulator({ seed, tls: tls.server });
    relays = new RelayDirectory('servicebus.emulator.test');
    arm = await createArmEmulator({ seed, tls: tls.server, entra, relays, audience: 'https://management.core.windows.net/' });
    cloud = {
      name: 'emulator',
      resourceManagerEndpoint: 'https://management.emulator.test',
      resourceManagerAudience: 'https://management.core.windows.net/',
      authorityHost: 'https://login.emulator.test',
      relaySuffix: 'servicebus.emulator.test',
      hostMap: { 'login.emulator.test': new URL(entra.url).host, 'management.emulator.test': new URL(arm.url).host },
      ca: tls.ca,
      disableInstanceDiscovery: true,
    };
  });

  afterAll(async () => {
    if (cloud) closeCloudTransport(cloud);
    await Promise.all([arm?.close(), entra?.close()]);
  });

  it('gets the connected cluster', async () => {
    const cluster = await new ArcArm(cloud, credentialFor('ci'), SUB).getCluster(demo);
    expect(cluster).toEqual({
      id: clusterResourceId(SUB, 'demo-rg', 'demo'),
      location: 'eastus',
      connectivityStatus: 'Connected',
      provisioningState: 'Succeeded',
      agentVersion: '1.21.10',
      distribution: 'k3s',
    });
  });

  it('lists cluster user credentials with a Send SAS the relay directory verifies', async () => {
    const cred = await new ArcArm(cloud, credentialFor('ci'), SUB).listClusterUserCredential(demo, 'AAD');
    const entry = relays.forCluster(clusterResourceId(SUB, 'demo-rg', 'demo'))!;
    expect(cred.relay).toBe(entry.relayName);
    expect(cred.hybridConnectionName).toBe(entry.hybridConnectionName);
    const sas = parseSas(cred.token)!;
    expect(hasValidSignature(sas, entry.sendKey)).toBe(true);
    expect(cred.expiresOn.getTime()).toBe((sas.expiry - 600) * 1000);
  });

  it('lists subscriptions through the same pipeline', async () => {
    expect(await listSubscriptions(cloud, credentialFor('ci'))).toEqual([{ id: SUB, name: 'arcproxy-emulator' }]);
    expect(await listSubscriptions(cloud, credentialFor('noaccess'))).toEqual([]);
  });

  it('the noaccess principal gets ARCPROXY_FORBIDDEN', async () => {
    const err = await new ArcArm(cloud, credentialFor('noaccess'), SUB).listClusterUserCredential(demo, 'AAD').catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'ArmError', code: 'ARCPROXY_FORBIDDEN', statusCode: 403 });
  });

  it('the pipeline retries a throttled call after Retry-After', async () => {
    const client = new ArcArm(cloud, credentialFor('ci'), SUB);
    await client.getCluster(demo); // token cached: only ARM calls below
    arm.faults.failNext(1, 429, 1);
    const started = Date.now();
    const cluster = await client.getCluster(demo);
    expect(cluster.connectivityStatus).toBe('Connected');
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
  });

  it('a device-code user gets an Arc server token through the host-mapped authority', async () => {
    const credential = new DeviceCodeCredential({
      ...credentialOptions(cloud),
      tenantId: seed.tenantId,
      clientId: '04b07795-8ddb-461a-bbee-02f9e1bf7b46',
      userPromptCallback: () => undefined,
    });
    const token = await credential.getToken(ARC_SERVER_SCOPE);
    const claims = decodeJwt(token.token);
    expect(claims.aud).toBe(ARC_SERVER_APP_ID);
    expect(claims.iss).toBe(`https://login.emulator.test/${seed.tenantId}/v2.0`);
    await expect(entra.verifyAccessToken(token.token, { audience: ARC_SERVER_APP_ID })).resolves.toMatchObject({ idtyp: 'user' });
  });
});
