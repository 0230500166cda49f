/** The emulated ARM over HTTPS: routes, RBAC, errors, faults. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { ARC_SERVER_SCOPE } from '../../../../src/azure/cloud.js';
import { hasValidSignature, parseSas } from '../../../../src/relay/sas.js';
import { clusterResourceId, defaultSeed, DEFAULT_SUBSCRIPTION_ID as SUB, findPrincipal } from '../../../../src/emulator/seed.js';
import { httpsRequest, type JsonResponse } from '../entra/tls-fixture.js';
import { startArmWorld, type ArmWorld } from './arm-fixture.js';

const seed = defaultSeed();
// A principal with a subscription-wide role, to reach the 404s behind RBAC.
const subOwner = {
  ...findPrincipal(seed, 'noaccess'),
  name: 'subowner',
  clientId: '5d7f9b1c-3e5a-4c7e-9a1b-2c3d4e5f6a7b',
  objectId: '8f9e0d1c-2b3a-4c5d-8e6f-7a8b9c0d1e2f',
};
seed.principals.push(subOwner);
seed.roleAssignments.push({ principalId: subOwner.objectId, role: 'Reader', scope: `/subscriptions/${SUB}` });
// A cluster whose relay ARM says is of a type ("byor", as in the REST examples), elsewhere.
seed.resourceGroups[0]!.clusters.push({
  name: 'byor',
  location: 'westeurope',
  connectivityStatus: 'Connected',
  agentVersion: '1.21.10',
  distribution: 'k3s',
  agent: false,
  relayType: 'byor',
});
const API = 'api-version=2021-10-01';
const clusterPath = (rg = 'demo-rg', name = 'demo', sub = SUB) =>
  `/subscriptions/${sub}/resourceGroups/${rg}/providers/Microsoft.Kubernetes/connectedClusters/${name}`;

describe('ARM emulator', () => {
  let world: ArmWorld;
  let clockMs = Date.now();
  const tokens: Record<string, string> = {};

  const call = (path: string, opts: { token?: string | null; method?: string; body?: unknown; query?: string } = {}): Promise<JsonResponse> => {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    const token = opts.token === undefined ? tokens.ci : opts.token;
    if (token !== null && token !== undefined) headers.authorization = `Bearer ${token}`;
    const sep = path.includes('?') ? '&' : '?';
    const url = `${world.arm.url}${path}${opts.query === '' ? '' : `${sep}${opts.query ?? API}`}`;
    return httpsRequest(url, world.ca, {
      method: opts.method ?? 'GET',
      headers,
      ...(opts.body === undefined ? {} : { body: typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body) }),
    });
  };
  const listCredential = (body: unknown, token?: string) =>
    call(`${clusterPath()}/listClusterUserCredential`, { method: 'POST', body, ...(token ? { token } : {}) });

  beforeAll(async () => {
    world = await startArmWorld(seed, () => clockMs);
    for (const name of ['ci', 'noaccess', 'viewer', 'overage', 'subowner']) tokens[name] = await world.tokenFor(name);
  });
  afterAll(async () => {
    await world?.close();
  });

  it('issues no hybrid connection before a credential is asked for', () => {
    for (const rg of seed.resourceGroups)
      for (const c of rg.clusters) expect(world.relays.issuedCount(clusterResourceId(rg.subscriptionId, rg.name, c.name))).toBe(0);
  });

  describe('subscriptions', () => {
    it('lists the subscriptions a caller has roles in, and gets one by id', async () => {
      const list = await call('/subscriptions');
      expect(list.status).toBe(200);
      expect(list.body.value).toEqual([
        expect.objectContaining({
          id: `/subscriptions/${SUB}`,
          subscriptionId: SUB,
          displayName: 'arcproxy-emulator',
          tenantId: seed.tenantId,
          state: 'Enabled',
        }),
      ]);
      expect(list.headers['x-ms-request-id']).toMatch(/^[0-9a-f-]{36}$/);
      expect(list.headers['x-ms-correlation-request-id']).toBeTruthy();
      const one = await call(`/SUBSCRIPTIONS/${SUB.toUpperCase()}`);
      expect(one.status).toBe(200);
      expect(one.body.subscriptionId).toBe(SUB);
    });

    it('a caller without roles sees no subscriptions', async () => {
      expect((await call('/subscriptions', { token: tokens.noaccess })).body.value).toEqual([]);
      expect((await call(`/subscriptions/${SUB}`, { token: tokens.noaccess })).status).toBe(404);
    });

    it('a Reader role grants GET but not listClusterUserCredential', async () => {
      expect((await call(clusterPath(), { token: tokens.subowner })).status).toBe(200);
      const res = await call(`${clusterPath()}/listClusterUserCredential`, {
        method: 'POST',
        body: { authenticationMethod: 'AAD', clientProxy: true },
        token: tokens.subowner,
      });
      expect(res.status).toBe(403);
    });

    it('a role on one resource group does not reach into another (403 before any lookup)', async () => {
      const res = await call(clusterPath('nope-rg'));
      expect(res.status).toBe(403);
      expect(res.body.error.code).toBe('AuthorizationFailed');
    });

    it('an unknown subscription is 404 SubscriptionNotFound', async () => {
      const res = await call(clusterPath('demo-rg', 'demo', '00000000-0000-0000-0000-000000000000'));
      expect(res.status).toBe(404);
      expect(res.body.error.code).toBe('SubscriptionNotFound');
    });
  });

  describe('connected clusters', () => {
    it('gets a cluster in the REST shape, with any path casing', async () => {
      const res = await call(clusterPath('DEMO-RG', 'Demo').toLowerCase().replace('subscriptions', 'Subscriptions'));
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({
        id: clusterResourceId(SUB, 'demo-rg', 'demo'),
        name: 'demo',
        type: 'microsoft.kubernetes/connectedclusters',
        location: 'eastus',
        identity: { type: 'SystemAssigned' },
        properties: {
          provisioningState: 'Succeeded',
          connectivityStatus: 'Connected',
          agentVersion: '1.21.10',
          distribution: 'k3s',
          kubernetesVersion: '1.31.4',
          totalNodeCount: 1,
        },
      });
      expect(Buffer.from(res.body.properties.agentPublicKeyCertificate, 'base64').length).toBeGreaterThan(50);
      expect(Date.parse(res.body.properties.lastConnectivityTime)).not.toBeNaN();
    });

    it('setConnectivityStatus changes what GET reports', async () => {
      world.arm.setConnectivityStatus('demo-rg', 'offline', 'Expired');
      const res = await call(clusterPath('demo-rg', 'offline'));
      expect(res.body.properties.connectivityStatus).toBe('Expired');
      expect(() => world.arm.setConnectivityStatus('demo-rg', 'nope', 'Offline')).toThrow(RangeError);
    });

    it('unknown resource group and cluster are 404 with the real texts (for a caller with access to the scope)', async () => {
      const rg = await call(clusterPath('nope-rg'), { token: tokens.subowner });
      expect(rg.status).toBe(404);
      expect(rg.body.error).toEqual({ code: 'ResourceGroupNotFound', message: "Resource group 'nope-rg' could not be found." });
      const cluster = await call(clusterPath('demo-rg', 'ghost'));
      expect(cluster.status).toBe(404);
      expect(cluster.body.error).toEqual({
        code: 'ResourceNotFound',
        message:
          "The Resource 'Microsoft.Kubernetes/connectedClusters/ghost' under resource group 'demo-rg' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix",
      });
    });

    it('requires api-version', async () => {
      const res = await call(clusterPath(), { query: '' });
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('MissingApiVersionParameter');
    });
  });

  describe('listClusterUserCredential', () => {
    it('returns relay rendezvous data with a SAS that verifies and expires after the configured lifetime', async () => {
      const res = await listCredential({ authenticationMethod: 'AAD', clientProxy: true });
      expect(res.status).toBe(200);
      const hc = res.body.hybridConnectionConfig;
      const entry = world.relays.forCluster(clusterResourceId(SUB, 'demo-rg', 'demo'))!;
      expect(hc.relay).toBe(entry.relayName);
      expect(hc.hybridConnectionName).toBe(entry.hybridConnectionName);
      const sas = parseSas(hc.token)!;
      expect(hasValidSignature(sas, entry.sendKey)).toBe(true);
      expect(hasValidSignature(sas, entry.listenKey)).toBe(false);
      expect(sas.keyName).toBe(entry.sendKeyName);
      expect(sas.resource).toBe(world.relays.resourceUri(entry));
      // expirationTime: exactly the lifetime after the issue second (the REST example's 3 h); the SAS a margin later.
      expect(hc.expirationTime).toBe(Math.floor(clockMs / 1000) + seed.relayTokenLifetimeSeconds);
      expect(sas.expiry).toBe(hc.expirationTime + 600);
      expect(entry.expiresAtMs).toBe(hc.expirationTime * 1000);
      expect(res.body.kubeconfigs[0].name).toBe('credentialName1');
      const kubeconfig = parseYaml(Buffer.from(res.body.kubeconfigs[0].value, 'base64').toString('utf8'));
      expect(kubeconfig.clusters[0].cluster.server).toMatch(/^https:\/\/127\.0\.0\.1:47011\/proxies\/[0-9a-f]{64}$/);
    });

    it('issues a new hybrid connection of the Azure name shape for every credential', async () => {
      const id = clusterResourceId(SUB, 'demo-rg', 'demo');
      const before = world.relays.issuedCount(id);
      const first = (await listCredential({ authenticationMethod: 'AAD', clientProxy: true })).body.hybridConnectionConfig;
      const second = (await listCredential({ authenticationMethod: 'AAD', clientProxy: true })).body.hybridConnectionConfig;
      expect(world.relays.issuedCount(id)).toBe(before + 2);
      expect(first.relay).toBe('azgnrelay-eastus-l1');
      const shape = /^microsoft\.kubernetes\/connectedclusters\/([0-9a-f]{64})\/(\d{19})$/;
      const [, hash1, ns1] = shape.exec(first.hybridConnectionName)!;
      const [, hash2, ns2] = shape.exec(second.hybridConnectionName)!;
      expect(hash2).toBe(hash1);
      expect(BigInt(ns2!)).toBeGreaterThan(BigInt(ns1!));
      // The name ends in the issue time in nanoseconds.
      expect(Number(BigInt(ns1!) / 1_000_000_000n)).toBe(Math.floor(clockMs / 1000));
      expect(world.relays.liveFor(id).map((e) => e.hybridConnectionName)).toEqual(
        expect.arrayContaining([first.hybridConnectionName, second.hybridConnectionName]),
      );
    });

    it('honours a shorter relay token lifetime from faults', async () => {
      world.arm.faults.setRelayTokenLifetime(120);
      try {
        const res = await listCredential({ authenticationMethod: 'Token', clientProxy: true });
        const sas = parseSas(res.body.hybridConnectionConfig.token)!;
        expect(res.body.hybridConnectionConfig.expirationTime).toBe(Math.floor(clockMs / 1000) + 120);
        expect(sas.expiry).toBe(res.body.hybridConnectionConfig.expirationTime + 60);
      } finally {
        world.arm.faults.setRelayTokenLifetime(seed.relayTokenLifetimeSeconds);
      }
    });

    it.each([
      [{ clientProxy: true }, /authenticationMethod/],
      [{ authenticationMethod: 'AAD' }, /clientProxy/],
      [{ authenticationMethod: 'Password', clientProxy: true }, /'AAD' or 'Token'/],
      [{ authenticationMethod: 'AAD', clientProxy: 'yes' }, /true or false/],
      ['{not json', /not valid JSON/],
    ])('refuses body %j with 400 InvalidRequestContent', async (body, message) => {
      const res = await listCredential(body);
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('InvalidRequestContent');
      expect(res.body.error.message).toMatch(message);
    });

    it('a principal without a role is 403 AuthorizationFailed with the real text', async () => {
      const noaccess = findPrincipal(seed, 'noaccess');
      const res = await listCredential({ authenticationMethod: 'AAD', clientProxy: true }, tokens.noaccess);
      expect(res.status).toBe(403);
      expect(res.body.error.code).toBe('AuthorizationFailed');
      expect(res.body.error.message).toBe(
        `The client '${noaccess.objectId}' with object id '${noaccess.objectId}' does not have authorization to perform action 'Microsoft.Kubernetes/connectedClusters/listClusterUserCredential/action' over scope '${clusterPath()}' or the scope is invalid. If access was recently granted, please refresh your credentials.`,
      );
    });

    it('a cluster-scoped assignment grants that cluster only; authorization comes before the lookup', async () => {
      expect((await listCredential({ authenticationMethod: 'AAD', clientProxy: true }, tokens.viewer)).status).toBe(200);
      const other = await call(`${clusterPath('demo-rg', 'offline')}/listClusterUserCredential`, {
        method: 'POST',
        body: { authenticationMethod: 'AAD', clientProxy: true },
        token: tokens.viewer,
      });
      expect(other.status).toBe(403);
      const ghostRg = await call(clusterPath('ghost-rg'), { token: tokens.viewer });
      expect(ghostRg.status).toBe(403);
    });

    it('GET needs a role too', async () => {
      const res = await call(clusterPath(), { token: tokens.noaccess });
      expect(res.status).toBe(403);
      expect(res.body.error.message).toContain("'Microsoft.Kubernetes/connectedClusters/read'");
    });
  });

  describe('api-versions of connectedClusters', () => {
    const SUPPORTED =
      '2021-04-01-preview, 2021-10-01, 2022-05-01-preview, 2022-10-01-preview, 2023-11-01-preview, 2024-01-01, 2024-02-01-preview, ' +
      '2024-06-01-preview, 2024-07-01-preview, 2024-07-15-preview, 2024-12-01-preview, 2025-08-01-preview, 2025-12-01-preview, ' +
      '2026-02-01-preview, 2026-05-01';
    const credentialAt = (version: string, name = 'demo') =>
      call(`${clusterPath('demo-rg', name)}/listClusterUserCredential`, {
        method: 'POST',
        body: { authenticationMethod: 'AAD', clientProxy: true },
        query: `api-version=${version}`,
      });

    it.each(['2019-01-01', '2021-03-01', '2020-01-01-preview', '2026-05-01-preview', '2027-01-01'])(
      'refuses %s with 400 NoRegisteredProviderFound in ARM words, on GET and on listClusterUserCredential',
      async (version) => {
        for (const res of [await call(clusterPath(), { query: `api-version=${version}` }), await credentialAt(version)]) {
          expect(res.status).toBe(400);
          expect(res.body.error).toEqual({
            code: 'NoRegisteredProviderFound',
            message: `No registered resource provider found for location 'eastus' and API version '${version}' for type 'connectedClusters'. The supported api-versions are '${SUPPORTED}'. The supported locations are 'eastus, westeurope'.`,
          });
        }
      },
    );

    it("names the cluster's location, or its resource group's when there is no such cluster", async () => {
      const byor = await call(clusterPath('demo-rg', 'byor'), { query: 'api-version=2020-01-01' });
      expect(byor.body.error.message).toContain("for location 'westeurope' and API version '2020-01-01'");
      const ghost = await call(clusterPath('demo-rg', 'ghost'), { query: 'api-version=2020-01-01' });
      expect(ghost.status).toBe(400);
      expect(ghost.body.error.message).toContain("for location 'eastus'");
    });

    it('checks the version after authorization and the resource group, as before any lookup', async () => {
      expect((await call(clusterPath(), { token: tokens.noaccess, query: 'api-version=2019-01-01' })).status).toBe(403);
      const rg = await call(clusterPath('nope-rg'), { token: tokens.subowner, query: 'api-version=2019-01-01' });
      expect(rg.status).toBe(404);
      expect(rg.body.error.code).toBe('ResourceGroupNotFound');
    });

    it('keeps the format check for every route, and any well-formed version for subscriptions', async () => {
      const res = await call(clusterPath(), { query: 'api-version=latest' });
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('InvalidApiVersionParameter');
      expect((await call('/subscriptions', { query: 'api-version=2022-12-01' })).status).toBe(200);
    });

    it('matches a version case-insensitively', async () => {
      expect((await call(clusterPath(), { query: 'api-version=2024-07-15-PREVIEW' })).status).toBe(200);
    });

    it.each(['2021-04-01-preview', '2021-10-01', '2024-01-01', '2024-07-01-preview'])(
      '%s answers hybridConnectionConfig without relayTid and relayType',
      async (version) => {
        const res = await credentialAt(version, 'byor');
        expect(res.status).toBe(200);
        expect(Object.keys(res.body.hybridConnectionConfig).sort()).toEqual(['expirationTime', 'hybridConnectionName', 'relay', 'token']);
      },
    );

    it.each(['2024-07-15-preview', '2024-12-01-preview', '2025-08-01-preview', '2025-12-01-preview', '2026-02-01-preview', '2026-05-01'])(
      '%s adds relayTid (the seed tenant), and relayType where the seed gives the cluster one',
      async (version) => {
        const byor = await credentialAt(version, 'byor');
        expect(byor.status).toBe(200);
        expect(byor.body.hybridConnectionConfig).toMatchObject({ relayTid: seed.tenantId, relayType: 'byor' });
        const demo = (await credentialAt(version)).body.hybridConnectionConfig;
        expect(demo.relayTid).toBe(seed.tenantId);
        expect(demo).not.toHaveProperty('relayType');
      },
    );
  });

  describe('authentication', () => {
    const expect401 = (res: JsonResponse, code: string) => {
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe(code);
      const challenge = String(res.headers['www-authenticate']);
      expect(challenge).toContain(`authorization_uri="${world.entra.url}/${seed.tenantId}"`);
      expect(challenge).toContain('error="invalid_token"');
    };

    it('no header, a bad header, a forged token', async () => {
      expect401(await call(clusterPath(), { token: null }), 'AuthenticationFailed');
      const basic = await httpsRequest(`${world.arm.url}${clusterPath()}?${API}`, world.ca, { headers: { authorization: 'Basic abc' } });
      expect401(basic, 'AuthenticationFailed');
      const [h, , s] = tokens.ci!.split('.');
      const forged = `${h}.${Buffer.from(JSON.stringify({ oid: 'x', aud: 'https://management.core.windows.net/' })).toString('base64url')}.${s}`;
      expect401(await call(clusterPath(), { token: forged }), 'InvalidAuthenticationToken');
    });

    it('a token for another audience', async () => {
      const arcToken = await world.tokenFor('ci', ARC_SERVER_SCOPE);
      const res = await call(clusterPath(), { token: arcToken });
      expect401(res, 'InvalidAuthenticationTokenAudience');
      expect(res.body.error.message).not.toContain(arcToken);
    });

    it('accepts the audience without its trailing slash', async () => {
      const token = await world.tokenFor('ci', 'https://management.core.windows.net/.default');
      expect((await call(clusterPath(), { token })).status).toBe(200);
    });

    it('an expired token', async () => {
      const token = await world.tokenFor('ci');
      const saved = clockMs;
      clockMs += (seed.tokenLifetimeSeconds + 60) * 1000;
      try {
        const res = await call(clusterPath(), { token });
        expect401(res, 'ExpiredAuthenticationToken');
        expect(res.body.error.message).toMatch(/^The access token expiry UTC time '.+' is earlier than current UTC time '.+'\.$/);
      } finally {
        clockMs = saved;
      }
    });
  });

  describe('faults', () => {
    it('failNext(2, 429) throttles two requests with Retry-After, then recovers', async () => {
      world.arm.faults.failNext(2, 429, 7);
      for (let i = 0; i < 2; i++) {
        const res = await call(clusterPath());
        expect(res.status).toBe(429);
        expect(res.headers['retry-after']).toBe('7');
        expect(res.body.error.code).toBe('SubscriptionRequestsThrottled');
      }
      expect((await call(clusterPath())).status).toBe(200);
    });

    it('failNext(1, 500) answers an ARM InternalServerError body', async () => {
      world.arm.faults.failNext(1, 500);
      const res = await call(clusterPath());
      expect(res.status).toBe(500);
      expect(res.body.error.code).toBe('InternalServerError');
      expect((await call(clusterPath())).status).toBe(200);
    });
  });
});
