/**
 * The product's Azure clients against the emulated Entra ID and ARM, reached by made-up host
 * names through a cloud profile's host map and CA: the path arcproxy takes against the emulator.
 */
import { ConnectedKubernetesClient } from '@azure/arm-hybridkubernetes';
import { ClientSecretCredential, DeviceCodeCredential } from '@azure/identity';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { ARC_SERVER_APP_ID, ARC_SERVER_SCOPE } from '../../../src/azure/cloud.js';
import type { CloudProfile } from '../../../src/net/cloud-profile.js';
import { armClientOptions, closeCloudTransport, credentialOptions } from '../../../src/azure/transport.js';
import { createArmEmulator, type ArmEmulator } from '../../../src/emulator/arm/index.js';
import { createEntraEmulator, type EntraEmulator } from '../../../src/emulator/entra/index.js';
import { RelayDirectory } from '../../../src/emulator/relay-directory.js';
import { clusterResourceId, defaultSeed, DEFAULT_SUBSCRIPTION_ID as SUB, findPrincipal } from '../../../src/emulator/seed.js';
import { hasValidSignature, parseSas } from '../../../src/relay/sas.js';
import { makeTestTls } from '../emulator/entra/tls-fixture.js';

const seed = defaultSeed();

describe('ARM SDK and @azure/identity through the cloud transport', () => {
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
    const client = new ConnectedKubernetesClient(credentialFor('ci'), SUB, armClientOptions(cloud));
    const cluster = await client.connectedClusterOperations.get('demo-rg', 'demo');
    expect(cluster.id).toBe(clusterResourceId(SUB, 'demo-rg', 'demo'));
    expect(cluster.connectivityStatus).toBe('Connected');
    expect(cluster.agentVersion).toBe('1.21.10');
    expect(cluster.location).toBe('eastus');
  });

  it('lists cluster user credentials with a Send SAS the relay directory verifies', async () => {
    const client = new ConnectedKubernetesClient(credentialFor('ci'), SUB, armClientOptions(cloud));
    const result = await client.connectedClusterOperations.listClusterUserCredential('demo-rg', 'demo', { authenticationMethod: 'AAD', clientProxy: true });
    const entry = relays.forCluster(clusterResourceId(SUB, 'demo-rg', 'demo'))!;
    const hc = result.hybridConnectionConfig!;
    expect(hc.relay).toBe(entry.relayName);
    expect(hc.hybridConnectionName).toBe(entry.hybridConnectionName);
    const sas = parseSas(hc.token!)!;
    expect(hasValidSignature(sas, entry.sendKey)).toBe(true);
    expect(hc.expirationTime).toBe(sas.expiry - 600);
    const kubeconfig = parseYaml(Buffer.from(result.kubeconfigs![0]!.value!).toString('utf8'));
    expect(kubeconfig.kind).toBe('Config');
  });

  it('the noaccess principal gets a RestError 403 AuthorizationFailed', async () => {
    const client = new ConnectedKubernetesClient(credentialFor('noaccess'), SUB, armClientOptions(cloud));
    const err = await client.connectedClusterOperations
      .listClusterUserCredential('demo-rg', 'demo', { authenticationMethod: 'AAD', clientProxy: true })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'RestError', statusCode: 403, code: 'AuthorizationFailed' });
  });

  it('the SDK retries a throttled call after Retry-After', async () => {
    const client = new ConnectedKubernetesClient(credentialFor('ci'), SUB, armClientOptions(cloud));
    await client.connectedClusterOperations.get('demo-rg', 'demo'); // token cached: only ARM calls below
    arm.faults.failNext(1, 429, 1);
    const started = Date.now();
    const cluster = await client.connectedClusterOperations.get('demo-rg', 'demo');
    expect(cluster.name).toBe('demo');
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
