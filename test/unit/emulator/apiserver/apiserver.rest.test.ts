import { request } from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, NOBODY, VIEWER, startFixture, type Fixture } from './fixture.js';

const TABLE = 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json';

describe('emulated apiserver: REST', () => {
  let f: Fixture;
  beforeAll(async () => {
    f = await startFixture();
  });
  afterAll(() => f?.server.close());

  it('refuses callers without a known token with a 401 Status', async () => {
    for (const token of [undefined, 'not-a-token']) {
      const r = await f.get('/api/v1/namespaces/default/pods', token);
      expect(r.status).toBe(401);
      expect(r.body).toMatchObject({ kind: 'Status', reason: 'Unauthorized', code: 401 });
    }
  });

  it('serves /version and discovery', async () => {
    expect((await f.get('/version', NOBODY)).body.gitVersion).toMatch(/^v1\.31/);
    expect((await f.get('/api', ADMIN)).body.versions).toEqual(['v1']);
    const core = (await f.get('/api/v1', ADMIN)).body;
    expect(core.resources.map((r: { name: string }) => r.name)).toEqual(expect.arrayContaining(['pods', 'pods/log', 'pods/exec', 'pods/portforward', 'namespaces']));
    const groups = (await f.get('/apis', ADMIN)).body.groups.map((g: { name: string }) => g.name);
    expect(groups).toEqual(expect.arrayContaining(['authentication.k8s.io', 'authorization.k8s.io']));
    expect((await f.get('/openapi/v2', ADMIN)).status).toBe(404);
  });

  it('lists pods as JSON and as a Table with the usual columns', async () => {
    const list = (await f.get('/api/v1/namespaces/default/pods', ADMIN)).body;
    expect(list.kind).toBe('PodList');
    expect(list.items.map((p: { metadata: { name: string } }) => p.metadata.name)).toEqual(['hello-0', 'hello-1', 'hello-2']);
    const table = (await f.get('/api/v1/namespaces/default/pods', ADMIN, { accept: TABLE })).body;
    expect(table.kind).toBe('Table');
    expect(table.columnDefinitions.slice(0, 5).map((c: { name: string }) => c.name)).toEqual(['Name', 'Ready', 'Status', 'Restarts', 'Age']);
    expect(table.rows[0].cells.slice(0, 4)).toEqual(['hello-0', '1/1', 'Running', '0']);
    expect(table.rows[0].object.kind).toBe('PartialObjectMetadata');
    const single = (await f.get('/api/v1/namespaces/default/pods?fieldSelector=metadata.name%3Dhello-1', ADMIN)).body;
    expect(single.items).toHaveLength(1);
  });

  it('gets, creates and deletes pods, bumping the resourceVersion', async () => {
    const before = Number((await f.get('/api/v1/pods', ADMIN)).body.metadata.resourceVersion);
    const created = await f.send('POST', '/api/v1/namespaces/default/pods', JSON.stringify({ metadata: { name: 'made-by-test' }, spec: { containers: [{ name: 'c', ports: [{ containerPort: 9000 }] }] } }), ADMIN, { 'content-type': 'application/json' });
    expect(created.status).toBe(201);
    expect(Number(created.body.metadata.resourceVersion)).toBeGreaterThan(before);
    expect((await f.get('/api/v1/namespaces/default/pods/made-by-test', ADMIN)).body.status.phase).toBe('Running');
    expect((await f.send('POST', '/api/v1/namespaces/default/pods', JSON.stringify({ metadata: { name: 'made-by-test' } }), ADMIN)).status).toBe(409);
    expect((await f.send('DELETE', '/api/v1/namespaces/default/pods/made-by-test', '', ADMIN)).status).toBe(200);
    expect((await f.get('/api/v1/namespaces/default/pods/made-by-test', ADMIN)).status).toBe(404);
  });

  it('answers Forbidden exactly as the real server words it', async () => {
    const r = await f.get('/api/v1/namespaces/default/pods', NOBODY);
    expect(r.status).toBe(403);
    expect(r.body).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'pods is forbidden: User "system:serviceaccount:default:demo-nobody" cannot list resource "pods" in API group "" in the namespace "default"',
      reason: 'Forbidden',
      details: { kind: 'pods' },
      code: 403,
    });
  });

  it('gives view get/list/watch but not create or delete', async () => {
    expect((await f.get('/api/v1/namespaces/default/pods', VIEWER)).status).toBe(200);
    expect((await f.get('/api/v1/namespaces/default/pods/hello-0/log', VIEWER)).status).toBe(200);
    const del = await f.send('DELETE', '/api/v1/namespaces/default/pods/hello-1', '', VIEWER);
    expect(del.status).toBe(403);
    expect(del.body.message).toContain('cannot delete resource "pods"');
  });

  it('honours impersonation only for the agent identity', async () => {
    const asAgent = await f.send('POST', '/apis/authentication.k8s.io/v1/selfsubjectreviews', '{}', f.server.agentToken, { 'impersonate-user': 'oid-1', 'impersonate-group': 'g-1' });
    expect(asAgent.body.status.userInfo).toEqual({ username: 'oid-1', groups: ['g-1', 'system:authenticated'] });
    const asAdmin = await f.get('/api/v1/namespaces/default/pods', ADMIN, { 'impersonate-user': 'someone' });
    expect(asAdmin.status).toBe(403);
    expect(asAdmin.body.message).toBe('users "someone" is forbidden: User "system:serviceaccount:default:demo-admin" cannot impersonate resource "users" in API group "" at the cluster scope');
  });

  it('keeps repeated Impersonate-Group headers apart', async () => {
    const groups = await new Promise<string[]>((resolve, reject) => {
      const req = request(`${f.server.url}/apis/authentication.k8s.io/v1/selfsubjectreviews`, { method: 'POST', ca: f.ca, agent: false, headers: { authorization: `Bearer ${f.server.agentToken}`, 'impersonate-user': 'u', 'impersonate-group': ['a', 'b, c'] } }, (res) => {
        let t = '';
        res.on('data', (d) => (t += d));
        res.on('end', () => {
          try {
            resolve(JSON.parse(t).status.userInfo.groups);
          } catch (err) {
            reject(new Error(`HTTP ${res.statusCode}: ${t}`, { cause: err }));
          }
        });
      });
      req.on('error', reject);
      req.end('{}');
    });
    expect(groups).toEqual(['a', 'b, c', 'system:authenticated']);
  });

  it('answers selfsubjectaccessreviews from the bindings', async () => {
    const review = (token: string, verb: string) =>
      f.send('POST', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', JSON.stringify({ kind: 'SelfSubjectAccessReview', apiVersion: 'authorization.k8s.io/v1', spec: { resourceAttributes: { namespace: 'default', verb, resource: 'pods' } } }), token, { 'content-type': 'application/json' });
    expect((await review(ADMIN, 'delete')).body.status.allowed).toBe(true);
    expect((await review(VIEWER, 'list')).body.status.allowed).toBe(true);
    expect((await review(VIEWER, 'delete')).body.status.allowed).toBe(false);
    expect((await review(NOBODY, 'list')).body.status.allowed).toBe(false);
  });

  it('refuses exec without an upgrade', async () => {
    const r = await f.send('POST', '/api/v1/namespaces/default/pods/hello-0/exec?command=echo', '', ADMIN);
    expect(r.status).toBe(400);
  });
});
