/**
 * ArcArm, arcproxy's own client of Microsoft.Kubernetes/connectedClusters: against the emulated
 * Entra ID and ARM (what it sends, what it makes of each answer, every error it explains, the
 * pipeline's retries), and against a stub ARM for answers the emulator never gives.
 */
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { ClientSecretCredential } from '@azure/identity';
import type { TokenCredential } from '@azure/identity';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArcArm, assertClusterReachable, CONNECTED_CLUSTERS_API_VERSION, type ClusterRef } from '../../../src/azure/arm.js';
import { ARC_SERVER_SCOPE } from '../../../src/azure/cloud.js';
import { closeCloudTransport, credentialOptions } from '../../../src/azure/transport.js';
import { createArmEmulator, type ArmEmulator } from '../../../src/emulator/arm/index.js';
import { createEntraEmulator, type EntraEmulator } from '../../../src/emulator/entra/index.js';
import { RelayDirectory } from '../../../src/emulator/relay-directory.js';
import { clusterResourceId, defaultSeed, DEFAULT_SUBSCRIPTION_ID as SUB, findPrincipal } from '../../../src/emulator/seed.js';
import type { CloudProfile } from '../../../src/net/cloud-profile.js';
import { hasValidSignature, parseSas } from '../../../src/relay/sas.js';
import { makeTestTls } from '../emulator/entra/tls-fixture.js';

const ARM_AUDIENCE = 'https://management.core.windows.net/';
const ref = (name = 'demo', resourceGroup = 'demo-rg', subscriptionId = SUB): ClusterRef => ({ subscriptionId, resourceGroup, name });

const seed = defaultSeed();
// A principal with a subscription-wide Reader role, to reach the 404s behind RBAC.
const reader = {
  ...findPrincipal(seed, 'noaccess'),
  name: 'reader',
  clientId: '5d7f9b1c-3e5a-4c7e-9a1b-2c3d4e5f6a7b',
  objectId: '8f9e0d1c-2b3a-4c5d-8e6f-7a8b9c0d1e2f',
};
seed.principals.push(reader);
seed.roleAssignments.push({ principalId: reader.objectId, role: 'Reader', scope: `/subscriptions/${SUB}` });
seed.resourceGroups[0]!.clusters.push({
  name: 'byor',
  location: 'eastus',
  connectivityStatus: 'Connected',
  agentVersion: '1.21.10',
  distribution: 'k3s',
  agent: false,
  relayType: 'byor',
});

describe('ArcArm against the emulated ARM', () => {
  let entra: EntraEmulator;
  let arm: ArmEmulator;
  let relays: RelayDirectory;
  let cloud: CloudProfile;
  const credentials = new Map<string, TokenCredential>();

  /** One credential per principal, so tokens are cached across tests as in a session. */
  const credentialFor = (name: string): TokenCredential => {
    let c = credentials.get(name);
    if (!c) {
      const p = findPrincipal(seed, name);
      c = new ClientSecretCredential(seed.tenantId, p.clientId!, p.clientSecret!, credentialOptions(cloud));
      credentials.set(name, c);
    }
    return c;
  };
  const client = (name = 'ci', options: ConstructorParameters<typeof ArcArm>[3] = {}) => new ArcArm(cloud, credentialFor(name), SUB, options);
  const failure = (p: Promise<unknown>) =>
    p.then(
      () => expect.fail('resolved'),
      (e: unknown) => e as { code: string; message: string; statusCode?: number },
    );

  beforeAll(async () => {
    const tls = await makeTestTls(['login.emulator.test', 'management.emulator.test']);
    entra = await createEntraEmulator({ seed, tls: tls.server });
    relays = new RelayDirectory('servicebus.emulator.test');
    arm = await createArmEmulator({ seed, tls: tls.server, entra, relays, audience: ARM_AUDIENCE });
    cloud = {
      name: 'emulator',
      resourceManagerEndpoint: 'https://management.emulator.test',
      resourceManagerAudience: ARM_AUDIENCE,
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

  it('speaks the newest stable api-version', () => {
    expect(CONNECTED_CLUSTERS_API_VERSION).toBe('2026-05-01');
  });

  describe('getCluster', () => {
    it('reads the connected cluster', async () => {
      expect(await client().getCluster(ref())).toEqual({
        id: clusterResourceId(SUB, 'demo-rg', 'demo'),
        location: 'eastus',
        connectivityStatus: 'Connected',
        provisioningState: 'Succeeded',
        agentVersion: '1.21.10',
        distribution: 'k3s',
      });
    });

    it('reads an Offline cluster, which assertClusterReachable then stops', async () => {
      const cluster = await client().getCluster(ref('offline'));
      expect(cluster.connectivityStatus).toBe('Offline');
      expect(() => assertClusterReachable(cluster, ref('offline'))).toThrow(expect.objectContaining({ code: 'ARCPROXY_CLUSTER_OFFLINE' }));
    });
  });

  describe('listClusterUserCredential', () => {
    it('returns the relay, the hybrid connection, a Send SAS the relay verifies, its refresh time and the relay tenant', async () => {
      const warnings: string[] = [];
      const cred = await client('ci', { warn: (m) => warnings.push(m) }).listClusterUserCredential(ref(), 'Token');
      const entry = relays.forCluster(clusterResourceId(SUB, 'demo-rg', 'demo'))!;
      expect(cred.relay).toBe(entry.relayName);
      expect(cred.hybridConnectionName).toBe(entry.hybridConnectionName);
      const sas = parseSas(cred.token)!;
      expect(hasValidSignature(sas, entry.sendKey)).toBe(true);
      expect(cred.expiresOn.getTime()).toBe((sas.expiry - 600) * 1000);
      expect(cred.relayTid).toBe(seed.tenantId);
      expect(cred).not.toHaveProperty('relayType');
      expect(warnings).toEqual([]);
    });

    it('reads relayType and says once, however many renewals bring it, that it does not know it', async () => {
      const warnings: string[] = [];
      const arcArm = client('ci', { warn: (m) => warnings.push(m) });
      for (let i = 0; i < 3; i++) {
        const cred = await arcArm.listClusterUserCredential(ref('byor'), 'AAD');
        expect(cred).toMatchObject({ relayTid: seed.tenantId, relayType: 'byor' });
      }
      expect(warnings).toEqual([
        "Azure Resource Manager says the relay of connected cluster 'byor' is of type 'byor', which arcproxy does not know; it connects to it as to any Azure Relay hybrid connection. If requests through the proxy fail, report this relay type.",
      ]);
    });

    it.each(['2021-10-01', '2024-01-01'])('at %s (no relayTid or relayType in the answer) still works', async (apiVersion) => {
      const cred = await client('ci', { apiVersion }).listClusterUserCredential(ref('byor'), 'AAD');
      expect(cred.token).toMatch(/^SharedAccessSignature /);
      expect(cred).not.toHaveProperty('relayTid');
      expect(cred).not.toHaveProperty('relayType');
    });
  });

  describe('ARM errors, explained as before', () => {
    it('404 ResourceNotFound: ARCPROXY_CLUSTER_NOT_FOUND', async () => {
      const err = await failure(client().getCluster(ref('ghost')));
      expect(err).toMatchObject({ name: 'ArmError', code: 'ARCPROXY_CLUSTER_NOT_FOUND', statusCode: 404 });
      expect(err.message).toBe(
        `Connected cluster 'ghost' was not found in resource group 'demo-rg' (subscription ${SUB}). List the clusters there with: az connectedk8s list -g demo-rg -o table`,
      );
    });

    it('404 ResourceGroupNotFound: ARCPROXY_RESOURCE_GROUP_NOT_FOUND', async () => {
      const err = await failure(client('reader').getCluster(ref('demo', 'nope-rg')));
      expect(err).toMatchObject({ code: 'ARCPROXY_RESOURCE_GROUP_NOT_FOUND', statusCode: 404 });
      expect(err.message).toBe(`Resource group 'nope-rg' was not found in subscription ${SUB}. Check -g and --subscription.`);
    });

    it('404 SubscriptionNotFound: ARCPROXY_SUBSCRIPTION_NOT_FOUND', async () => {
      const other = '00000000-0000-0000-0000-000000000000';
      const err = await failure(new ArcArm(cloud, credentialFor('ci'), other).listClusterUserCredential(ref('demo', 'demo-rg', other), 'AAD'));
      expect(err).toMatchObject({ code: 'ARCPROXY_SUBSCRIPTION_NOT_FOUND', statusCode: 404 });
      expect(err.message).toBe(`Subscription ${other} was not found, or the signed-in identity cannot see it. Check --subscription.`);
    });

    it('403 AuthorizationFailed: ARCPROXY_FORBIDDEN naming the role, for a read and for the credential', async () => {
      const role = 'Azure Arc Enabled Kubernetes Cluster User Role';
      const tail = `connected cluster 'demo' in resource group 'demo-rg' (subscription ${SUB}). Ask an owner of the cluster for the '${role}' role on the cluster or its resource group (az role assignment create --role "${role}" --assignee <you> --scope <cluster id>).`;
      const read = await failure(client('noaccess').getCluster(ref()));
      expect(read).toMatchObject({ code: 'ARCPROXY_FORBIDDEN', statusCode: 403 });
      expect(read.message).toBe(`The signed-in identity is not allowed to read ${tail}`);
      const list = await failure(client('reader').listClusterUserCredential(ref(), 'AAD'));
      expect(list).toMatchObject({ code: 'ARCPROXY_FORBIDDEN', statusCode: 403 });
      expect(list.message).toBe(`The signed-in identity is not allowed to list the cluster user credentials of ${tail}`);
    });

    it('401: ARCPROXY_ARM_UNAUTHORIZED with the code ARM gave', async () => {
      const ci = credentialFor('ci');
      const wrongAudience: TokenCredential = { getToken: () => ci.getToken(ARC_SERVER_SCOPE) };
      const err = await failure(new ArcArm(cloud, wrongAudience, SUB).getCluster(ref()));
      expect(err).toMatchObject({ code: 'ARCPROXY_ARM_UNAUTHORIZED', statusCode: 401 });
      expect(err.message).toBe(
        "Azure Resource Manager did not accept the sign-in token (InvalidAuthenticationTokenAudience). Sign in again (az login) or check the credential's tenant.",
      );
    });

    it('400: ARCPROXY_ARM_BAD_REQUEST with the message ARM gave (an api-version it does not serve)', async () => {
      const err = await failure(client('ci', { apiVersion: '2021-03-01' }).getCluster(ref()));
      expect(err).toMatchObject({ code: 'ARCPROXY_ARM_BAD_REQUEST', statusCode: 400 });
      expect(err.message).toMatch(
        /^Azure Resource Manager refused the request: No registered resource provider found for location 'eastus' and API version '2021-03-01' for type 'connectedClusters'\. The supported api-versions are '.*2026-05-01'\./,
      );
    });

    it('429 with Retry-After is waited out and retried', async () => {
      const arcArm = client();
      await arcArm.getCluster(ref()); // token cached: only ARM calls below
      arm.faults.failNext(2, 429, 1);
      const started = Date.now();
      expect((await arcArm.listClusterUserCredential(ref(), 'AAD')).relay).toBeTruthy();
      expect(Date.now() - started).toBeGreaterThanOrEqual(1900);
    });

    it('500 is retried with backoff', async () => {
      const arcArm = client();
      await arcArm.getCluster(ref());
      arm.faults.failNext(1, 500);
      expect((await arcArm.getCluster(ref())).connectivityStatus).toBe('Connected');
    });

    it('after 3 retries the failure is ARCPROXY_ARM_UNAVAILABLE naming the status and the code ARM gave', async () => {
      const arcArm = client();
      await arcArm.getCluster(ref());
      arm.faults.failNext(4, 429, 0);
      const err = await failure(arcArm.listClusterUserCredential(ref(), 'AAD'));
      expect(err).toMatchObject({ code: 'ARCPROXY_ARM_UNAVAILABLE', statusCode: 429 });
      expect(err.message).toBe(
        'Unable to list cluster user credentials from Azure Resource Manager (HTTP 429 SubscriptionRequestsThrottled). Try again; if it persists check https://status.azure.com.',
      );
      expect((await arcArm.getCluster(ref())).id).toBeTruthy(); // the 4 planned failures are used up
    });
  });
});

interface StubCall {
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

describe('ArcArm against a stub ARM', () => {
  let server: Server;
  let cloud: CloudProfile;
  const calls: StubCall[] = [];
  let answer: { status: number; body: string } = { status: 200, body: '{}' };
  const token: TokenCredential = { getToken: async () => ({ token: 'stub-token', expiresOnTimestamp: Date.now() + 3600_000 }) };
  const client = (options: ConstructorParameters<typeof ArcArm>[3] = {}) => new ArcArm(cloud, token, SUB, options);
  const respond = (status: number, body: unknown) => {
    answer = { status, body: typeof body === 'string' ? body : JSON.stringify(body) };
  };
  const failure = (p: Promise<unknown>) =>
    p.then(
      () => expect.fail('resolved'),
      (e: unknown) => e as { code: string; message: string },
    );
  const hc = {
    expirationTime: 1631196183,
    hybridConnectionName: 'microsoft.kubernetes/connectedclusters/abc/1',
    relay: 'azgnrelay-ph0-l1',
    token: 'SharedAccessSignature sr=x&sig=y&se=1&skn=z',
  };

  beforeAll(async () => {
    const tls = await makeTestTls(['management.stub.test']);
    server = createServer({ cert: tls.server.cert, key: tls.server.key }, (req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (c: string) => (body += c));
      req.on('end', () => {
        calls.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
        res.writeHead(answer.status, { 'content-type': 'application/json' }).end(answer.body);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cloud = {
      name: 'stub',
      resourceManagerEndpoint: 'https://management.stub.test/',
      resourceManagerAudience: ARM_AUDIENCE,
      authorityHost: 'https://login.stub.test',
      relaySuffix: 'servicebus.stub.test',
      hostMap: { 'management.stub.test': `127.0.0.1:${(server.address() as AddressInfo).port}` },
      ca: tls.ca,
    };
  });

  afterAll(async () => {
    if (cloud) closeCloudTransport(cloud);
    await new Promise((resolve) => server?.close(resolve));
  });

  it('sends GET and POST at the api-version, with the bearer token, the correlation id and the JSON body', async () => {
    calls.length = 0;
    respond(200, { id: 'x', location: 'westeurope', properties: { connectivityStatus: 'Connected' } });
    await client({ correlationId: 'corr-1' }).getCluster(ref('my.cluster', 'rg(1)'));
    respond(200, { hybridConnectionConfig: hc });
    await client({ correlationId: 'corr-1' }).listClusterUserCredential(ref('my.cluster', 'rg(1)'), 'Token');
    const path = `/subscriptions/${SUB}/resourceGroups/rg(1)/providers/Microsoft.Kubernetes/connectedClusters/my.cluster`;
    expect(calls.map((c) => [c.method, c.url])).toEqual([
      ['GET', `${path}?api-version=2026-05-01`],
      ['POST', `${path}/listClusterUserCredential?api-version=2026-05-01`],
    ]);
    for (const c of calls) {
      expect(c.headers.authorization).toBe('Bearer stub-token');
      expect(c.headers['x-ms-correlation-request-id']).toBe('corr-1');
      expect(c.headers['x-ms-client-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    }
    expect(calls[1]!.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(JSON.parse(calls[1]!.body)).toEqual({ authenticationMethod: 'Token', clientProxy: true });
    expect(calls[0]!.body).toBe('');
  });

  it('encodes the names it puts in the path', async () => {
    calls.length = 0;
    respond(200, { location: 'x' });
    await client().getCluster(ref('a b', 'r/g'));
    expect(calls[0]!.url).toBe(`/subscriptions/${SUB}/resourceGroups/r%2Fg/providers/Microsoft.Kubernetes/connectedClusters/a%20b?api-version=2026-05-01`);
  });

  it('reads the example answer of the REST specification (2026-02-01-preview), relayTid and relayType included', async () => {
    respond(200, {
      hybridConnectionConfig: { ...hc, relayTid: '33e01921-4d64-4f8c-a055-5bdaffd5e33d', relayType: 'byor' },
      kubeconfigs: [{ name: 'credentialName1', value: 'YQ==' }],
    });
    expect(await client().listClusterUserCredential(ref(), 'Token')).toEqual({
      relay: 'azgnrelay-ph0-l1',
      hybridConnectionName: hc.hybridConnectionName,
      token: hc.token,
      expiresOn: new Date(1631196183 * 1000),
      relayTid: '33e01921-4d64-4f8c-a055-5bdaffd5e33d',
      relayType: 'byor',
    });
  });

  it('tells each relayType it meets once', async () => {
    const warnings: string[] = [];
    const arcArm = client({ warn: (m) => warnings.push(m) });
    for (const relayType of ['byor', 'byor', 'other', 'byor', '']) {
      respond(200, { hybridConnectionConfig: { ...hc, relayType } });
      await arcArm.listClusterUserCredential(ref(), 'AAD');
    }
    expect(warnings.map((w) => w.match(/of type '([^']*)'/)?.[1])).toEqual(['byor', 'other']);
  });

  it.each([
    ['no hybridConnectionConfig', { kubeconfigs: [] }],
    ['an empty token', { hybridConnectionConfig: { ...hc, token: '' } }],
    ['no relay', { hybridConnectionConfig: { ...hc, relay: undefined } }],
    ['a hybrid connection name that is not a string', { hybridConnectionConfig: { ...hc, hybridConnectionName: 7 } }],
    ['a hybridConnectionConfig that is not an object', { hybridConnectionConfig: 'x' }],
  ])('an answer with %s is ARCPROXY_ARM_NO_RELAY', async (_what, body) => {
    respond(200, body);
    const err = await failure(client().listClusterUserCredential(ref(), 'AAD'));
    expect(err).toMatchObject({ code: 'ARCPROXY_ARM_NO_RELAY' });
    expect(err.message).toBe(
      "Azure Resource Manager returned no relay credentials for 'demo'. The cluster may not support Cluster Connect: check the Arc agent version with az connectedk8s show.",
    );
  });

  it.each([undefined, '1631196183', null])('an expirationTime of %j means an hour from now', async (expirationTime) => {
    respond(200, { hybridConnectionConfig: { ...hc, expirationTime } });
    const cred = await client().listClusterUserCredential(ref(), 'AAD');
    expect(Math.abs(cred.expiresOn.getTime() - (Date.now() + 3600_000))).toBeLessThan(5000);
  });

  it('a cluster without properties has an Unknown status', async () => {
    respond(200, { id: 'x', location: 'eastus' });
    expect(await client().getCluster(ref())).toEqual({ id: 'x', location: 'eastus', connectivityStatus: 'Unknown' });
  });

  it('a 2xx answer that is not JSON is ARCPROXY_ARM_UNAVAILABLE', async () => {
    respond(200, '<html>proxy login</html>');
    const read = await failure(client().getCluster(ref()));
    expect(read).toMatchObject({ code: 'ARCPROXY_ARM_UNAVAILABLE' });
    expect(read.message).toBe(
      'Unable to read the connected cluster from Azure Resource Manager (an answer that is not a connected cluster). Try again; if it persists check https://status.azure.com.',
    );
    respond(200, '[]');
    const list = await failure(client().listClusterUserCredential(ref(), 'AAD'));
    expect(list.message).toBe(
      'Unable to list cluster user credentials from Azure Resource Manager (an answer that is not a cluster user credential). Try again; if it persists check https://status.azure.com.',
    );
  });

  it('an error without an ARM error body is still explained by its status', async () => {
    respond(404, 'Not Found');
    expect(await failure(client().getCluster(ref()))).toMatchObject({ code: 'ARCPROXY_CLUSTER_NOT_FOUND' });
    respond(403, '');
    expect(await failure(client().getCluster(ref()))).toMatchObject({ code: 'ARCPROXY_FORBIDDEN' });
    respond(400, { error: { code: 'InvalidRequestContent' } });
    expect((await failure(client().getCluster(ref()))).message).toBe('Azure Resource Manager refused the request: InvalidRequestContent');
  });
});
