/** The REST core over HTTPS: discovery, Status bodies, authentication, pods and namespaces. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, startHarness, TABLE_ACCEPT, type Harness } from './harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.server.close();
});

describe('discovery', () => {
  it('serves /version from the seed', async () => {
    const r = await call(h, '/version?timeout=32s', { token: h.nobody });
    expect(r.status).toBe(200);
    expect(r.json()).toMatchObject({ major: '1', minor: '31', gitVersion: h.kubernetes.version.gitVersion });
  });

  it('answers aggregated discovery requests with plain JSON that kubectl falls back to', async () => {
    const accept =
      'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json';
    const api = await call(h, '/api', { token: h.nobody, headers: { accept } });
    expect(api.headers['content-type']).toBe('application/json');
    expect(api.json()).toMatchObject({ kind: 'APIVersions', versions: ['v1'] });
    const apis = await call(h, '/apis', { token: h.nobody, headers: { accept } });
    expect(apis.json().kind).toBe('APIGroupList');
    expect(apis.json().groups.map((g: { name: string }) => g.name)).toEqual([
      'apps',
      'batch',
      'networking.k8s.io',
      'rbac.authorization.k8s.io',
      'policy',
      'coordination.k8s.io',
      'apiextensions.k8s.io',
      'authentication.k8s.io',
      'authorization.k8s.io',
    ]);
  });

  it('lists the core resources with verbs, short names and categories', async () => {
    const r = (await call(h, '/api/v1', { token: h.admin })).json();
    expect(r.kind).toBe('APIResourceList');
    const byName = new Map<string, any>(r.resources.map((x: { name: string }) => [x.name, x]));
    expect([...byName.keys()]).toEqual(expect.arrayContaining(['namespaces', 'pods', 'pods/log', 'pods/exec', 'pods/portforward', 'pods/attach']));
    expect(byName.get('pods')).toMatchObject({ namespaced: true, kind: 'Pod', shortNames: ['po'], categories: ['all'] });
    expect(byName.get('pods').verbs).toEqual(expect.arrayContaining(['get', 'list', 'watch', 'create', 'delete']));
    expect(byName.get('namespaces')).toMatchObject({ namespaced: false, shortNames: ['ns'] });
  });

  it('lists the auth groups, including the older authentication versions', async () => {
    for (const gv of ['authentication.k8s.io/v1', 'authentication.k8s.io/v1beta1', 'authorization.k8s.io/v1']) {
      const r = await call(h, `/apis/${gv}`, { token: h.nobody });
      expect(r.status, gv).toBe(200);
      expect(r.json()).toMatchObject({ kind: 'APIResourceList', groupVersion: gv });
    }
    expect((await call(h, '/apis/authorization.k8s.io', { token: h.nobody })).json()).toMatchObject({ kind: 'APIGroup', preferredVersion: { version: 'v1' } });
  });

  it('answers unknown paths with a NotFound Status', async () => {
    for (const path of ['/apis/apps/v2', '/api/v1/widgets', '/apis/example.com/v1/things', '/api/v2', '/api/v1/namespaces/default/nodes']) {
      const r = await call(h, path, { token: h.admin });
      expect(r.status, path).toBe(404);
      expect(r.json()).toEqual({
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message: 'the server could not find the requested resource',
        reason: 'NotFound',
        details: {},
        code: 404,
      });
    }
  });
});

describe('authentication', () => {
  it('refuses a missing or unknown token with an Unauthorized Status', async () => {
    for (const token of [undefined, 'not-a-token']) {
      const r = await call(h, '/api/v1/namespaces/default/pods', token ? { token } : {});
      expect(r.status).toBe(401);
      expect(r.json()).toEqual({
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message: 'Unauthorized',
        reason: 'Unauthorized',
        code: 401,
      });
    }
  });

  it('forbids impersonation by anyone but the agent', async () => {
    const r = await call(h, '/api/v1/namespaces/default/pods', { token: h.admin, headers: { 'impersonate-user': 'alice' } });
    expect(r.status).toBe(403);
    expect(r.json()).toMatchObject({
      reason: 'Forbidden',
      message:
        'users "alice" is forbidden: User "system:serviceaccount:default:demo-admin" cannot impersonate resource "users" in API group "" at the cluster scope',
    });
  });

  it('lets the agent impersonate a user and its groups', async () => {
    const viewersGroup = h.kubernetes.bindings.find((b) => b.role === 'view')!.groups![0]!;
    const asViewer = { token: h.server.agentToken, headers: { 'impersonate-user': 'someone', 'impersonate-group': [viewersGroup, 'extra-group'] } };
    expect((await call(h, '/api/v1/namespaces/default/pods', asViewer)).status).toBe(200);
    const denied = await call(h, '/api/v1/namespaces/default/pods', { ...asViewer, method: 'POST', body: '{}' });
    expect(denied.status).toBe(403);
    expect(denied.json().message).toBe('pods is forbidden: User "someone" cannot create resource "pods" in API group "" in the namespace "default"');
    const whoami = (await call(h, '/apis/authentication.k8s.io/v1/selfsubjectreviews', { ...asViewer, method: 'POST', body: '{}' })).json();
    expect(whoami.status.userInfo).toEqual({ username: 'someone', groups: [viewersGroup, 'extra-group', 'system:authenticated'] });
  });
});

describe('authorization', () => {
  it('sends the real Forbidden body when no binding allows the request', async () => {
    const r = await call(h, '/api/v1/namespaces/default/pods', { token: h.nobody });
    expect(r.status).toBe(403);
    expect(r.text).toBe(
      '{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"pods is forbidden: User \\"system:serviceaccount:default:demo-nobody\\" cannot list resource \\"pods\\" in API group \\"\\" in the namespace \\"default\\"","reason":"Forbidden","details":{"kind":"pods"},"code":403}',
    );
  });

  it('names the object, subresource and cluster scope in Forbidden messages', async () => {
    const get = (await call(h, '/api/v1/namespaces/default/pods/hello-0/log', { token: h.nobody })).json();
    expect(get.message).toBe(
      'pods "hello-0" is forbidden: User "system:serviceaccount:default:demo-nobody" cannot get resource "pods/log" in API group "" in the namespace "default"',
    );
    expect(get.details).toEqual({ name: 'hello-0', kind: 'pods' });
    const all = (await call(h, '/api/v1/pods', { token: h.nobody })).json();
    expect(all.message).toBe(
      'pods is forbidden: User "system:serviceaccount:default:demo-nobody" cannot list resource "pods" in API group "" at the cluster scope',
    );
    const ns = (await call(h, '/api/v1/namespaces?watch=true', { token: h.nobody })).json();
    expect(ns.message).toBe(
      'namespaces is forbidden: User "system:serviceaccount:default:demo-nobody" cannot watch resource "namespaces" in API group "" at the cluster scope',
    );
  });

  it('gives view get/list/watch and logs, but not create or delete', async () => {
    expect((await call(h, '/api/v1/pods', { token: h.viewer })).status).toBe(200);
    expect((await call(h, '/api/v1/namespaces/default/pods/hello-1/log', { token: h.viewer })).status).toBe(200);
    expect((await call(h, '/api/v1/namespaces', { token: h.viewer })).status).toBe(200);
    expect((await call(h, '/api/v1/namespaces/default/pods/hello-1', { token: h.viewer, method: 'DELETE' })).status).toBe(403);
    const create = await call(h, '/api/v1/namespaces/default/pods', { token: h.viewer, method: 'POST', body: '{}' });
    expect(create.status).toBe(403);
  });

  it('still serves discovery to callers without bindings', async () => {
    for (const path of ['/api', '/apis', '/api/v1', '/version']) expect((await call(h, path, { token: h.nobody })).status, path).toBe(200);
  });
});

describe('pods and namespaces', () => {
  it('lists pods as a PodList with a resourceVersion', async () => {
    const r = (await call(h, '/api/v1/namespaces/default/pods', { token: h.admin })).json();
    expect(r.kind).toBe('PodList');
    expect(Number(r.metadata.resourceVersion)).toBeGreaterThan(0);
    expect(r.items.map((p: any) => p.metadata.name)).toEqual(['hello-0', 'hello-1', 'hello-2']);
    expect(r.items[0]).toMatchObject({ kind: 'Pod', apiVersion: 'v1', status: { phase: 'Running' }, spec: { containers: [{ name: 'hello' }] } });
  });

  it('lists pods as a Table when asked, with the real columns and row objects', async () => {
    const r = (await call(h, '/api/v1/namespaces/default/pods?limit=500', { token: h.admin, headers: { accept: TABLE_ACCEPT } })).json();
    expect(r.kind).toBe('Table');
    expect(r.columnDefinitions.filter((c: any) => c.priority === 0).map((c: any) => c.name)).toEqual(['Name', 'Ready', 'Status', 'Restarts', 'Age']);
    expect(r.rows).toHaveLength(3);
    expect(r.rows[0].cells.slice(0, 4)).toEqual(['hello-0', '1/1', 'Running', '0']);
    expect(r.rows[0].object).toMatchObject({
      kind: 'PartialObjectMetadata',
      apiVersion: 'meta.k8s.io/v1',
      metadata: { name: 'hello-0', namespace: 'default' },
    });
    const full = (await call(h, '/api/v1/namespaces/default/pods?includeObject=Object', { token: h.admin, headers: { accept: TABLE_ACCEPT } })).json();
    expect(full.rows[0].object).toMatchObject({ kind: 'Pod', status: { phase: 'Running' } });
  });

  it('filters by field and label selectors', async () => {
    const byName = (await call(h, '/api/v1/pods?fieldSelector=metadata.name%3Dhello-1', { token: h.admin })).json();
    expect(byName.items.map((p: any) => p.metadata.name)).toEqual(['hello-1']);
    const notDefault = (await call(h, '/api/v1/pods?fieldSelector=metadata.namespace!%3Ddefault', { token: h.admin })).json();
    expect(notDefault.items).toEqual([]);
    const byLabel = (await call(h, '/api/v1/pods?labelSelector=app%3Dhello', { token: h.admin })).json();
    expect(byLabel.items).toHaveLength(3);
    const none = (await call(h, '/api/v1/pods?labelSelector=app%3Dother', { token: h.admin })).json();
    expect(none.items).toEqual([]);
  });

  it('gets one pod as JSON or as a one-row Table, and 404s a missing one', async () => {
    const pod = (await call(h, '/api/v1/namespaces/default/pods/hello-2', { token: h.admin })).json();
    expect(pod.metadata).toMatchObject({ name: 'hello-2', namespace: 'default' });
    const table = (await call(h, '/api/v1/namespaces/default/pods/hello-2', { token: h.admin, headers: { accept: TABLE_ACCEPT } })).json();
    expect(table.rows.map((r: any) => r.cells[0])).toEqual(['hello-2']);
    const missing = await call(h, '/api/v1/namespaces/default/pods/nope', { token: h.admin });
    expect(missing.status).toBe(404);
    expect(missing.json()).toMatchObject({ reason: 'NotFound', message: 'pods "nope" not found', details: { name: 'nope', kind: 'pods' }, code: 404 });
  });

  it('creates and deletes pods, raising the resourceVersion each time', async () => {
    const rv = async () => Number((await call(h, '/api/v1/namespaces/default/pods', { token: h.admin })).json().metadata.resourceVersion);
    const before = await rv();
    const body = JSON.stringify({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'made-by-test', labels: { made: 'yes' } },
      spec: { containers: [{ name: 'c1', image: 'x', ports: [{ containerPort: 9000 }] }] },
    });
    const created = await call(h, '/api/v1/namespaces/default/pods?fieldManager=kubectl-run', {
      token: h.admin,
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json' },
    });
    expect(created.status).toBe(201);
    expect(created.json()).toMatchObject({
      metadata: { name: 'made-by-test', namespace: 'default', labels: { made: 'yes' } },
      spec: { containers: [{ name: 'c1' }] },
    });
    const afterCreate = await rv();
    expect(afterCreate).toBeGreaterThan(before);
    const again = await call(h, '/api/v1/namespaces/default/pods', { token: h.admin, method: 'POST', body });
    expect(again.status).toBe(409);
    expect(again.json()).toMatchObject({ reason: 'AlreadyExists', message: 'pods "made-by-test" already exists' });
    const deleted = await call(h, '/api/v1/namespaces/default/pods/made-by-test', { token: h.admin, method: 'DELETE' });
    expect(deleted.status).toBe(200);
    expect(deleted.json().metadata.deletionTimestamp).toBeTruthy();
    expect(await rv()).toBeGreaterThan(afterCreate);
    expect((await call(h, '/api/v1/namespaces/default/pods/made-by-test', { token: h.admin, method: 'DELETE' })).status).toBe(404);
  });

  it('refuses a pod without a name and a pod in a missing namespace', async () => {
    const noName = await call(h, '/api/v1/namespaces/default/pods', { token: h.admin, method: 'POST', body: '{"kind":"Pod","metadata":{}}' });
    expect(noName.status).toBe(422);
    const noNs = await call(h, '/api/v1/namespaces/nowhere/pods', { token: h.admin, method: 'POST', body: '{"kind":"Pod","metadata":{"name":"x"}}' });
    expect(noNs.status).toBe(404);
    expect(noNs.json().message).toBe('namespaces "nowhere" not found');
  });

  it('lists and gets namespaces', async () => {
    const list = (await call(h, '/api/v1/namespaces', { token: h.admin })).json();
    expect(list.kind).toBe('NamespaceList');
    expect(list.items.map((n: any) => n.metadata.name)).toEqual(['default', 'kube-system']);
    const table = (await call(h, '/api/v1/namespaces', { token: h.admin, headers: { accept: TABLE_ACCEPT } })).json();
    expect(table.columnDefinitions.map((c: any) => c.name)).toEqual(['Name', 'Status', 'Age']);
    expect(table.rows.map((r: any) => r.cells.slice(0, 2))).toEqual([
      ['default', 'Active'],
      ['kube-system', 'Active'],
    ]);
    expect((await call(h, '/api/v1/namespaces/kube-system', { token: h.admin })).json()).toMatchObject({
      kind: 'Namespace',
      metadata: { name: 'kube-system' },
    });
    expect((await call(h, '/api/v1/namespaces/nope', { token: h.admin })).status).toBe(404);
  });

  it('createPod() and deletePod() change what the API lists', async () => {
    await h.server.createPod('kube-system', 'added-by-call');
    const listed = (await call(h, '/api/v1/namespaces/kube-system/pods', { token: h.admin })).json();
    expect(listed.items.map((p: any) => p.metadata.name)).toEqual(['added-by-call']);
    expect(h.server.deletePod('kube-system', 'added-by-call')).toBe(true);
    expect(h.server.deletePod('kube-system', 'added-by-call')).toBe(false);
    expect((await call(h, '/api/v1/namespaces/kube-system/pods', { token: h.admin })).json().items).toEqual([]);
  });
});

describe('openapi', () => {
  it('answers /openapi/v2 in the protobuf client-go asks for, and in JSON', async () => {
    const pb = await call(h, '/openapi/v2', { token: h.nobody, headers: { accept: 'application/com.github.proto-openapi.spec.v2.v1.0+protobuf' } });
    expect(pb.status).toBe(200);
    expect(pb.headers['content-type']).toBe('application/com.github.proto-openapi.spec.v2.v1.0+protobuf');
    expect(Buffer.from(pb.text, 'latin1').subarray(0, 5)).toEqual(Buffer.from([0x0a, 0x03, 0x32, 0x2e, 0x30]));
    expect((await call(h, '/openapi/v2', { token: h.nobody })).json()).toMatchObject({ swagger: '2.0', definitions: {} });
    expect((await call(h, '/openapi/v2')).status).toBe(401);
  });

  it('lists every served group version at /openapi/v3 with a hashed URL to its document', async () => {
    const root = (await call(h, '/openapi/v3', { token: h.nobody })).json();
    expect(Object.keys(root.paths)).toEqual(expect.arrayContaining(['api/v1', 'apis/apps/v1', 'apis/batch/v1', 'apis/rbac.authorization.k8s.io/v1']));
    const url: string = root.paths['apis/apps/v1'].serverRelativeURL;
    expect(url).toMatch(/^\/openapi\/v3\/apis\/apps\/v1\?hash=[0-9A-F]{128}$/);
    expect((await call(h, url, { token: h.nobody })).json()).toMatchObject({ openapi: '3.0.0', components: { schemas: {} } });
    expect((await call(h, '/openapi/v3/apis/nope/v1', { token: h.nobody })).status).toBe(404);
  });
});
