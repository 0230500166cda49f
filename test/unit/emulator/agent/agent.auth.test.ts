import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createClusterAgent, OVERAGE_MESSAGE, type ClusterAgent } from '../../../../src/emulator/agent/index.js';
import { EventEmitter } from 'node:events';
import {
  AGENT_TOKEN,
  createIssuer,
  headerValues,
  ISSUER,
  send,
  startApiserver,
  startFront,
  TENANT,
  type Front,
  type Issuer,
  type TestApiserver,
  LENIENT_CLUSTER,
} from './harness.js';

const OID = 'd4c3b2a1-6e5f-4a7b-8c9d-2e1f0a9b8c7d';
const GROUPS = ['e1f2a3b4-c5d6-4e7f-8a9b-0c1d2e3f4a5b', 'f0e1d2c3-b4a5-4968-8776-655443322110'];

const idleSource = () => Object.assign(new EventEmitter(), { start() {}, close: async () => {} });

describe('cluster agent: Entra check and impersonation', () => {
  let api: TestApiserver;
  let front: Front;
  let agent: ClusterAgent;
  let issuer: Issuer;

  // RSA key generation is the slow part; one issuer serves every test.
  beforeAll(async () => {
    issuer = await createIssuer();
  });

  beforeEach(async () => {
    api = await startApiserver();
    agent = await createClusterAgent({
      source: idleSource,
      apiserver: { url: api.url, ca: api.ca, token: AGENT_TOKEN },
      entra: { tenantId: TENANT, issuer: ISSUER, jwks: issuer.jwks },
      cluster: LENIENT_CLUSTER,
    });
    front = await startFront((s) => agent.serveStream(s));
  });

  afterEach(async () => {
    await front.close();
    await agent.stop();
    await api.close();
  });

  async function expectUnauthorized(token: string, messagePart: RegExp | string): Promise<string> {
    const reply = await send(front, { path: '/api/v1/namespaces', headers: { authorization: `Bearer ${token}` } });
    expect(reply.status).toBe(401);
    expect(reply.headers['content-type']).toBe('application/json');
    const status = JSON.parse(reply.body) as Record<string, unknown>;
    expect(status).toMatchObject({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', reason: 'Unauthorized', code: 401 });
    expect(status.message).toEqual(expect.stringMatching(messagePart instanceof RegExp ? messagePart : new RegExp(escape(messagePart))));
    expect(reply.body).not.toContain(token);
    expect(api.requests).toHaveLength(0);
    return status.message as string;
  }

  it('verifies an Entra token and impersonates its oid and groups with the agent token', async () => {
    const token = await issuer.sign({ oid: OID, groups: GROUPS });
    const reply = await send(front, { path: '/api/v1/namespaces?limit=5', headers: { authorization: `Bearer ${token}`, accept: 'application/json' } });
    expect(reply.status).toBe(200);
    expect(reply.body).toBe('{"kind":"APIVersions"}');
    expect(api.requests).toHaveLength(1);
    const seen = api.requests[0]!;
    expect(seen.url).toBe('/api/v1/namespaces?limit=5');
    expect(headerValues(seen.rawHeaders, 'authorization')).toEqual([`Bearer ${AGENT_TOKEN}`]);
    expect(headerValues(seen.rawHeaders, 'impersonate-user')).toEqual([OID]);
    expect(headerValues(seen.rawHeaders, 'impersonate-group')).toEqual(GROUPS);
    expect(seen.rawHeaders.join('\n')).not.toContain(token);
    expect(seen.headers.accept).toBe('application/json');
  });

  it('sends no Impersonate-Group when the token has no groups', async () => {
    const token = await issuer.sign({ oid: OID });
    expect((await send(front, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    expect(headerValues(api.requests[0]!.rawHeaders, 'impersonate-group')).toEqual([]);
    expect(headerValues(api.requests[0]!.rawHeaders, 'impersonate-user')).toEqual([OID]);
  });

  it('rejects an expired token', async () => {
    await expectUnauthorized(await issuer.sign({ oid: OID }, { expiresInSeconds: -600 }), 'expired');
  });

  it('rejects a token that is not valid yet', async () => {
    await expectUnauthorized(await issuer.sign({ oid: OID }, { notBefore: Math.floor(Date.now() / 1000) + 3600 }), 'not valid yet');
  });

  it('rejects a token for another audience', async () => {
    await expectUnauthorized(await issuer.sign({ oid: OID, aud: 'https://management.core.windows.net/' }), 'audience');
  });

  it('rejects a token from another tenant', async () => {
    const message = await expectUnauthorized(await issuer.sign({ oid: OID, tid: '99999999-0000-4000-8000-000000000000' }), 'tenant');
    expect(message).toContain(TENANT);
  });

  it('rejects a token with a forged signature', async () => {
    await expectUnauthorized(await issuer.forge({ oid: OID }), 'signature');
  });

  it('rejects a token without an oid', async () => {
    await expectUnauthorized(await issuer.sign({ sub: 'x' }), '"oid"');
  });

  it("rejects a groups overage claim with Arc's message", async () => {
    const token = await issuer.sign({ oid: OID, _claim_names: { groups: 'src1' }, _claim_sources: { src1: { endpoint: 'https://graph' } } });
    expect(await expectUnauthorized(token, OVERAGE_MESSAGE)).toBe(OVERAGE_MESSAGE);
  });

  it('rejects more than 200 groups as overage', async () => {
    const groups = Array.from({ length: 201 }, (_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`);
    expect(await expectUnauthorized(await issuer.sign({ oid: OID, groups }), OVERAGE_MESSAGE)).toBe(OVERAGE_MESSAGE);
  });

  it('accepts exactly 200 groups', async () => {
    const groups = Array.from({ length: 200 }, (_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`);
    expect((await send(front, { headers: { authorization: `Bearer ${await issuer.sign({ oid: OID, groups })}` } })).status).toBe(200);
    expect(headerValues(api.requests[0]!.rawHeaders, 'impersonate-group')).toHaveLength(200);
  });

  it('refuses client-chosen impersonation with an Entra token (403)', async () => {
    const token = await issuer.sign({ oid: OID, groups: GROUPS });
    const reply = await send(front, { headers: { authorization: `Bearer ${token}`, 'impersonate-user': 'system:admin' } });
    expect(reply.status).toBe(403);
    expect(JSON.parse(reply.body)).toMatchObject({ kind: 'Status', reason: 'Forbidden', code: 403, status: 'Failure' });
    expect(reply.body).toContain('impersonate-user');
    expect(api.requests).toHaveLength(0);
  });

  it('passes a service-account token and everything else through untouched', async () => {
    const sa = 'eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJrdWJlcm5ldGVzL3NlcnZpY2VhY2NvdW50In0.c2ln';
    const reply = await send(front, {
      path: '/api/v1/pods',
      headers: { authorization: `Bearer ${sa}`, 'impersonate-user': 'jane', 'impersonate-group': ['devs', 'ops'] },
    });
    expect(reply.status).toBe(200);
    const seen = api.requests[0]!;
    expect(headerValues(seen.rawHeaders, 'authorization')).toEqual([`Bearer ${sa}`]);
    expect(headerValues(seen.rawHeaders, 'impersonate-user')).toEqual(['jane']);
    expect(headerValues(seen.rawHeaders, 'impersonate-group')).toEqual(['devs', 'ops']);
  });

  it('passes a request without Authorization through for the apiserver to answer', async () => {
    api.onRequest = (_req, res) => {
      res.writeHead(401, { 'content-type': 'application/json' });
      res.end('{"kind":"Status","code":401}');
    };
    const reply = await send(front, { path: '/version' });
    expect(reply.status).toBe(401);
    expect(reply.body).toBe('{"kind":"Status","code":401}');
    expect(headerValues(api.requests[0]!.rawHeaders, 'authorization')).toEqual([]);
    expect(headerValues(api.requests[0]!.rawHeaders, 'impersonate-user')).toEqual([]);
  });

  it('keeps the stream usable after a rejection', async () => {
    const bad = await issuer.sign({ oid: OID }, { expiresInSeconds: -600 });
    expect((await send(front, { method: 'POST', headers: { authorization: `Bearer ${bad}` }, body: 'x'.repeat(10_000) })).status).toBe(401);
    const good = await issuer.sign({ oid: OID });
    expect((await send(front, { headers: { authorization: `Bearer ${good}` } })).status).toBe(200);
    expect(front.accepted).toBe(1);
  });
});

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
