/**
 * The agent as a PoP-enforcing kube-aad-proxy: signed HTTP requests (made by the client's own
 * signShr around an access token from the emulator's Entra signer, bound with cnf.kid) are
 * verified and impersonated; with enforcePoP on, plain Entra bearer tokens are refused.
 */
import { EventEmitter } from 'node:events';
import type { JWTPayload } from 'jose';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ARC_SERVER_APP_ID } from '../../../../src/azure/cloud.js';
import { createPopKey, type PopKey } from '../../../../src/azure/pop/pop-key.js';
import { signShr } from '../../../../src/azure/pop/shr.js';
import { createClusterAgent, OVERAGE_MESSAGE, POP_REQUIRED_MESSAGE, type ClusterAgent } from '../../../../src/emulator/agent/index.js';
import { accessTokenClaims } from '../../../../src/emulator/entra/claims.js';
import { createSigningKey, publicJwks, type SigningKey } from '../../../../src/emulator/entra/keys.js';
import { signJwt } from '../../../../src/emulator/entra/signer.js';
import type { SeedPrincipal } from '../../../../src/emulator/seed.js';
import { AGENT_TOKEN, CLUSTER_ARM_ID, headerValues, ISSUER, send, startApiserver, startFront, TENANT, type Front, type TestApiserver } from './harness.js';

const USER: SeedPrincipal = {
  name: 'developer',
  kind: 'user',
  upn: 'developer@arcproxy-emulator.test',
  objectId: 'd4c3b2a1-6e5f-4a7b-8c9d-2e1f0a9b8c7d',
  groups: ['e1f2a3b4-c5d6-4e7f-8a9b-0c1d2e3f4a5b', 'f0e1d2c3-b4a5-4968-8776-655443322110'],
};
const OTHER_CLUSTER = CLUSTER_ARM_ID.replace(/connectedClusters\/demo$/, 'connectedClusters/staging');
const SA_TOKEN = 'eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJrdWJlcm5ldGVzL3NlcnZpY2VhY2NvdW50In0.c2ln';
const NOW_MS = Date.UTC(2026, 0, 15, 12, 0, 0);
const NOW_SEC = NOW_MS / 1000;

const idleSource = () => Object.assign(new EventEmitter(), { start() {}, close: async () => {} });
const b64 = (value: object): string => Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
const decode = (segment: string): Record<string, unknown> => JSON.parse(Buffer.from(segment, 'base64url').toString('utf8')) as Record<string, unknown>;

describe('cluster agent: proof-of-possession tokens', () => {
  let entraKey: SigningKey;
  let otherEntraKey: SigningKey;
  let client: PopKey;
  let stranger: PopKey;
  let api: TestApiserver;
  let front: Front;
  let agent: ClusterAgent;
  let nowMs: number;

  // Key generation is the slow part: the tenant's signing keys and two PoP keys serve every test.
  beforeAll(async () => {
    [entraKey, otherEntraKey, client, stranger] = await Promise.all([createSigningKey(), createSigningKey(), createPopKey(), createPopKey()]);
  });

  async function startAgent(enforcePoP: boolean): Promise<void> {
    agent = await createClusterAgent({
      source: idleSource,
      apiserver: { url: api.url, ca: api.ca, token: AGENT_TOKEN },
      entra: { tenantId: TENANT, issuer: ISSUER, jwks: publicJwks([entraKey]) },
      cluster: { armId: CLUSTER_ARM_ID, enforcePoP },
      now: () => nowMs,
    });
    front = await startFront((s) => agent.serveStream(s));
  }

  beforeEach(async () => {
    nowMs = NOW_MS;
    api = await startApiserver();
  });

  afterEach(async () => {
    await front.close();
    await agent.stop();
    await api.close();
  });

  /** An access token for the Arc server app from the emulator's Entra signer, bound to `key` unless `cnf` says otherwise. */
  function accessToken(overrides: JWTPayload = {}, opts: { key?: PopKey; signer?: SigningKey; principal?: SeedPrincipal } = {}): Promise<string> {
    const claims = accessTokenClaims(opts.principal ?? USER, {
      issuer: ISSUER,
      tenantId: TENANT,
      audience: ARC_SERVER_APP_ID,
      clientId: '04b07795-8ddb-461a-bbee-02f9e1bf7b46',
      nowSeconds: NOW_SEC - 60,
      lifetimeSeconds: 3600,
    });
    return signJwt(opts.signer ?? entraKey, { ...claims, cnf: { kid: (opts.key ?? client).kid, xms_ksl: 'sw' }, ...overrides });
  }

  const shr = (at: string, opts: { u?: string; key?: PopKey; nowSec?: number } = {}): string =>
    signShr({ accessToken: at, clusterArmId: opts.u ?? CLUSTER_ARM_ID, key: opts.key ?? client, nowSec: opts.nowSec ?? NOW_SEC });

  async function expectImpersonated(token: string, principal: SeedPrincipal = USER): Promise<void> {
    const reply = await send(front, { path: '/api/v1/namespaces', headers: { authorization: `Bearer ${token}` } });
    expect(reply.status, reply.body).toBe(200);
    expect(api.requests).toHaveLength(1);
    const seen = api.requests[0]!;
    expect(headerValues(seen.rawHeaders, 'authorization')).toEqual([`Bearer ${AGENT_TOKEN}`]);
    expect(headerValues(seen.rawHeaders, 'impersonate-user')).toEqual([principal.objectId]);
    expect(headerValues(seen.rawHeaders, 'impersonate-group')).toEqual(principal.groups ?? []);
    expect(seen.rawHeaders.join('\n')).not.toContain(token);
  }

  /** A 401 Status whose message matches, naming neither the token nor any token inside it; nothing reached the apiserver. */
  async function expectUnauthorized(token: string, message: RegExp | string, secrets: string[] = []): Promise<string> {
    const reply = await send(front, { path: '/api/v1/namespaces', headers: { authorization: `Bearer ${token}` } });
    expect(reply.status).toBe(401);
    expect(reply.headers['content-type']).toBe('application/json');
    const status = JSON.parse(reply.body) as Record<string, unknown>;
    expect(status).toMatchObject({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', reason: 'Unauthorized', code: 401 });
    if (typeof message === 'string') expect(status.message).toBe(message);
    else expect(status.message).toMatch(message);
    for (const secret of [token, ...secrets]) expect(reply.body).not.toContain(secret);
    expect(api.requests).toHaveLength(0);
    return status.message as string;
  }

  describe('enforcePoP on', () => {
    beforeEach(() => startAgent(true));

    it('impersonates the user and groups of the access token inside a valid SHR', async () => {
      await expectImpersonated(shr(await accessToken()));
    });

    it('accepts u in another letter case, and an SHR 15 minutes old', async () => {
      await expectImpersonated(shr(await accessToken(), { u: CLUSTER_ARM_ID.toUpperCase(), nowSec: NOW_SEC - 15 * 60 }));
    });

    it('refuses a plain Entra bearer token, saying the cluster enforces PoP and what to do', async () => {
      const at = await accessToken();
      const message = await expectUnauthorized(at, POP_REQUIRED_MESSAGE);
      expect(message).toMatch(/requires proof-of-possession \(PoP\) tokens \(kube-aad-proxy enforcePoP is on\)/);
      expect(message).toMatch(/plain Microsoft Entra bearer token/);
      expect(message).toMatch(/Use arcproxy's PoP mode, or sign in with a credential source that can get PoP tokens/);
    });

    it('refuses a plain bearer token on an upgrade too', async () => {
      const at = await accessToken();
      const reply = await send(front, {
        path: '/api/v1/namespaces/default/pods/web/exec?command=sh',
        headers: {
          authorization: `Bearer ${at}`,
          connection: 'Upgrade',
          upgrade: 'websocket',
          'sec-websocket-version': '13',
          'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
        },
      });
      expect(reply.status).toBe(401);
      expect(JSON.parse(reply.body)).toMatchObject({ kind: 'Status', code: 401, reason: 'Unauthorized', message: POP_REQUIRED_MESSAGE });
      expect(api.upgrades).toHaveLength(0);
    });

    it('refuses a stale SHR (ts more than 15 minutes old)', async () => {
      const at = await accessToken();
      await expectUnauthorized(
        shr(at, { nowSec: NOW_SEC - 15 * 60 - 1 }),
        /^Unauthorized: the proof-of-possession token was rejected \(POP_STALE\): .*stale: it was signed 901 s ago/,
        [at],
      );
    });

    it('refuses an SHR whose u names another cluster', async () => {
      const at = await accessToken();
      const message = await expectUnauthorized(
        shr(at, { u: OTHER_CLUSTER }),
        /\(POP_WRONG_HOST\): .*is for ".*connectedClusters\/staging", not for this cluster/,
        [at],
      );
      expect(message).toContain(CLUSTER_ARM_ID);
    });

    it('refuses a tampered payload (its signature no longer verifies)', async () => {
      const at = await accessToken();
      const [header, payload, signature] = shr(at).split('.') as [string, string, string];
      const tampered = `${header}.${b64({ ...decode(payload), u: CLUSTER_ARM_ID.replace('demo-rg', 'DEMO-RG'), nonce: 'ffffffffffffffffffffffffffffffff' })}.${signature}`;
      await expectUnauthorized(tampered, /\(POP_BAD_SIGNATURE\): .*signature does not verify/, [at]);
    });

    it('refuses an SHR signed with a key the access token is not bound to', async () => {
      const at = await accessToken();
      const message = await expectUnauthorized(shr(at, { key: stranger }), /\(POP_KEY_MISMATCH\): The access token is bound to key/, [at]);
      expect(message).toContain(client.kid);
      expect(message).toContain(stranger.kid);
    });

    it('refuses an access token with no cnf claim (a bearer token wrapped in an SHR)', async () => {
      const at = await accessToken({ cnf: undefined });
      await expectUnauthorized(shr(at), /\(POP_KEY_MISMATCH\): The access token is not bound to any key/, [at]);
    });

    it.each([
      ['another audience', { aud: 'https://management.core.windows.net/' }, {}, /its audience is not the Azure Arc server application/],
      ['another issuer', { iss: 'https://login.example.test/x/v2.0' }, {}, /its issuer is not trusted/],
      [
        'another tenant',
        { tid: '99999999-0000-4000-8000-000000000000' },
        {},
        /issued by tenant 99999999-0000-4000-8000-000000000000, not by this cluster's tenant/,
      ],
      ['an expired token', { exp: NOW_SEC - 1 }, {}, /it has expired/],
      ["a key that is not the tenant's", {}, { other: true }, /not signed by a key of the tenant/],
    ])('refuses an SHR whose access token has %s', async (_name, overrides: JWTPayload, opts: { other?: boolean }, why) => {
      const at = await accessToken(overrides, opts.other ? { signer: otherEntraKey } : {});
      const message = await expectUnauthorized(
        shr(at),
        /^Unauthorized: the proof-of-possession token was rejected \(POP_BAD_ACCESS_TOKEN\): The access token inside the PoP token was rejected: /,
        [at],
      );
      expect(message).toMatch(why);
    });

    it('refuses an SHR whose access token has no oid, and an overage, as for a plain token', async () => {
      const noOid = await accessToken({ oid: undefined });
      await expectUnauthorized(shr(noOid), /has no "oid"/, [noOid]);
      const groups = Array.from({ length: 201 }, (_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`);
      const overage = await accessToken({}, { principal: { ...USER, groups } });
      await expectUnauthorized(shr(overage), OVERAGE_MESSAGE, [overage]);
    });

    it('refuses client-chosen impersonation with an SHR (403)', async () => {
      const reply = await send(front, { headers: { authorization: `Bearer ${shr(await accessToken())}`, 'impersonate-user': 'system:admin' } });
      expect(reply.status).toBe(403);
      expect(JSON.parse(reply.body)).toMatchObject({ kind: 'Status', reason: 'Forbidden', code: 403 });
      expect(api.requests).toHaveLength(0);
    });

    it('passes a service-account token through untouched', async () => {
      const reply = await send(front, { path: '/api/v1/pods', headers: { authorization: `Bearer ${SA_TOKEN}`, 'impersonate-user': 'jane' } });
      expect(reply.status).toBe(200);
      expect(headerValues(api.requests[0]!.rawHeaders, 'authorization')).toEqual([`Bearer ${SA_TOKEN}`]);
      expect(headerValues(api.requests[0]!.rawHeaders, 'impersonate-user')).toEqual(['jane']);
    });

    it('keeps the stream usable after a refusal', async () => {
      expect((await send(front, { method: 'POST', headers: { authorization: `Bearer ${await accessToken()}` }, body: 'x'.repeat(10_000) })).status).toBe(401);
      expect((await send(front, { headers: { authorization: `Bearer ${shr(await accessToken())}` } })).status).toBe(200);
      expect(front.accepted).toBe(1);
    });
  });

  describe('enforcePoP off', () => {
    beforeEach(() => startAgent(false));

    it('accepts a plain Entra bearer token', async () => {
      await expectImpersonated(await accessToken());
    });

    it('accepts a valid SHR', async () => {
      await expectImpersonated(shr(await accessToken()));
    });

    it('still refuses an SHR that fails a rule (here: stale)', async () => {
      const at = await accessToken();
      await expectUnauthorized(shr(at, { nowSec: NOW_SEC - 16 * 60 }), /\(POP_STALE\)/, [at]);
    });

    it('passes a service-account token through untouched', async () => {
      const reply = await send(front, { path: '/api/v1/pods', headers: { authorization: `Bearer ${SA_TOKEN}` } });
      expect(reply.status).toBe(200);
      expect(headerValues(api.requests[0]!.rawHeaders, 'authorization')).toEqual([`Bearer ${SA_TOKEN}`]);
    });
  });
});
