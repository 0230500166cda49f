/** The generic object store over HTTPS: CRUD, selectors, watch, conflicts, Status bodies, dryRun, RBAC, CRDs. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, startHarness, stream, TABLE_ACCEPT, type Harness } from './harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.server.close();
});

const json = (body: unknown) => ({ body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
const post = (path: string, body: unknown, token = h.admin) => call(h, path, { method: 'POST', token, ...json(body) });
const put = (path: string, body: unknown) => call(h, path, { method: 'PUT', token: h.admin, ...json(body) });
const get = (path: string, token = h.admin) => call(h, path, { token });
const cm = (name: string, data: Record<string, string> = { a: '1' }, labels?: Record<string, string>) => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, ...(labels ? { labels } : {}) },
  data,
});
const CMS = '/api/v1/namespaces/default/configmaps';

function deployment(name: string, image = 'nginx:1.27', replicas = 2) {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'web', image, ports: [{ containerPort: 80 }] }] } },
    },
  };
}

describe('create, get, list', () => {
  it('stores a ConfigMap with server metadata and answers get and list', async () => {
    const created = await post(CMS, cm('c1'));
    expect(created.status).toBe(201);
    const o = created.json();
    expect(o.metadata).toMatchObject({ name: 'c1', namespace: 'default' });
    expect(o.metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(Number(o.metadata.resourceVersion)).toBeGreaterThan(0);
    expect(Date.parse(o.metadata.creationTimestamp)).not.toBeNaN();
    expect(o.metadata.managedFields[0]).toMatchObject({ operation: 'Update', fieldsType: 'FieldsV1', fieldsV1: { 'f:data': { 'f:a': {} } } });
    expect((await get(`${CMS}/c1`)).json().data).toEqual({ a: '1' });
    const list = (await get(CMS)).json();
    expect(list).toMatchObject({ kind: 'ConfigMapList', apiVersion: 'v1' });
    expect(list.items.map((i: { metadata: { name: string } }) => i.metadata.name)).toContain('c1');
  });

  it('answers 404, 409 and 422 with the apiserver Status bodies', async () => {
    const missing = await get('/apis/apps/v1/namespaces/default/deployments/nope');
    expect(missing.status).toBe(404);
    expect(missing.json()).toMatchObject({
      reason: 'NotFound',
      message: 'deployments.apps "nope" not found',
      details: { name: 'nope', group: 'apps', kind: 'deployments' },
    });
    await post(CMS, cm('dup'));
    const again = await post(CMS, cm('dup'));
    expect(again.status).toBe(409);
    expect(again.json()).toMatchObject({ reason: 'AlreadyExists', message: 'configmaps "dup" already exists' });
    const bad = await post(CMS, cm('Bad_Name'));
    expect(bad.status).toBe(422);
    expect(bad.json().message).toMatch(/^ConfigMap "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain/);
    const noNs = await post('/api/v1/namespaces/absent/configmaps', cm('x'));
    expect(noNs.status).toBe(404);
    expect(noNs.json().message).toBe('namespaces "absent" not found');
    const noSelector = await post('/apis/apps/v1/namespaces/default/deployments', { ...deployment('d'), spec: { template: deployment('d').spec.template } });
    expect(noSelector.status).toBe(422);
    expect(noSelector.json().message).toContain('spec.selector: Required value');
  });

  it('filters by label and field selectors and refuses unknown field labels', async () => {
    await post(CMS, cm('sel-a', {}, { tier: 'front' }));
    await post(CMS, cm('sel-b', {}, { tier: 'back' }));
    const names = async (q: string) => (await get(`${CMS}?${q}`)).json().items.map((i: { metadata: { name: string } }) => i.metadata.name);
    expect(await names('labelSelector=tier%3Dfront')).toEqual(['sel-a']);
    expect(await names('labelSelector=tier%20in%20(front,back)')).toEqual(['sel-a', 'sel-b']);
    expect(await names('fieldSelector=metadata.name%3Dsel-b')).toEqual(['sel-b']);
    const bad = await get(`${CMS}?fieldSelector=spec.foo%3Dx`);
    expect(bad.status).toBe(400);
    expect(bad.json().message).toBe('field label not supported: spec.foo');
    const running = (await get('/api/v1/pods?fieldSelector=status.phase%3DRunning')).json().items;
    expect(running.length).toBeGreaterThanOrEqual(3);
  });

  it('prints Tables with kind-specific columns', async () => {
    const t = (await call(h, CMS, { token: h.admin, headers: { accept: TABLE_ACCEPT } })).json();
    expect(t.kind).toBe('Table');
    expect(t.columnDefinitions.map((c: { name: string }) => c.name)).toEqual(['Name', 'Data', 'Age']);
    const svc = await post('/api/v1/namespaces/default/services', {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'web' },
      spec: { selector: { app: 'web' }, ports: [{ port: 80 }] },
    });
    expect(svc.status).toBe(201);
    expect(svc.json().spec.clusterIP).toMatch(/^10\.43\.\d+\.\d+$/);
    expect(svc.json().spec.ports[0]).toEqual({ port: 80, protocol: 'TCP', targetPort: 80 });
    const row = (await call(h, '/api/v1/namespaces/default/services/web', { token: h.admin, headers: { accept: TABLE_ACCEPT } })).json().rows[0];
    expect(row.cells.slice(0, 5)).toEqual(['web', 'ClusterIP', svc.json().spec.clusterIP, '<none>', '80/TCP']);
  });

  it('keeps the image a pod was given', async () => {
    const created = await post('/api/v1/namespaces/default/pods', {
      metadata: { name: 'img' },
      spec: { containers: [{ name: 'c', image: 'busybox:1.36', ports: [{ containerPort: 9000 }] }] },
    });
    expect(created.status).toBe(201);
    const pod = (await get('/api/v1/namespaces/default/pods/img')).json();
    expect(pod.spec.containers[0].image).toBe('busybox:1.36');
    expect(pod.status.containerStatuses[0]).toMatchObject({ name: 'c', image: 'busybox:1.36', ready: true });
    expect(pod.status.phase).toBe('Running');
  });

  it('serves nodes read-only', async () => {
    const nodes = (await get('/api/v1/nodes')).json();
    expect(nodes.items[0].metadata.name).toBe('emulated-node-0');
    const row = (await call(h, '/api/v1/nodes', { token: h.admin, headers: { accept: TABLE_ACCEPT } })).json().rows[0];
    expect([row.cells[0], row.cells[1]]).toEqual(['emulated-node-0', 'Ready']);
    const create = await post('/api/v1/nodes', { metadata: { name: 'n2' } });
    expect(create.status).toBe(405);
  });
});

describe('update, delete, watch', () => {
  it('updates with PUT, refuses a stale resourceVersion with 409, and leaves a no-op update alone', async () => {
    const o = (await post(CMS, cm('u1'))).json();
    const updated = await put(`${CMS}/u1`, { ...o, data: { a: '2' } });
    expect(updated.status).toBe(200);
    expect(Number(updated.json().metadata.resourceVersion)).toBeGreaterThan(Number(o.metadata.resourceVersion));
    const stale = await put(`${CMS}/u1`, { ...o, data: { a: '3' } });
    expect(stale.status).toBe(409);
    expect(stale.json()).toMatchObject({
      reason: 'Conflict',
      message: 'Operation cannot be fulfilled on configmaps "u1": the object has been modified; please apply your changes to the latest version and try again',
    });
    const same = await put(`${CMS}/u1`, updated.json());
    expect(same.json().metadata.resourceVersion).toBe(updated.json().metadata.resourceVersion);
  });

  it('bumps metadata.generation only when the spec changes', async () => {
    const d = (await post('/apis/apps/v1/namespaces/default/deployments', deployment('gen'))).json();
    expect(d.metadata.generation).toBe(1);
    const labelled = await put('/apis/apps/v1/namespaces/default/deployments/gen', {
      ...d,
      metadata: { ...d.metadata, resourceVersion: undefined, labels: { x: 'y' } },
    });
    expect(labelled.json().metadata.generation).toBe(1);
    const current = labelled.json();
    const scaled = await put('/apis/apps/v1/namespaces/default/deployments/gen', {
      ...current,
      metadata: { ...current.metadata, resourceVersion: undefined },
      spec: { ...d.spec, replicas: 3 },
    });
    expect(scaled.json().metadata.generation).toBe(2);
  });

  it('watches a resource from a resourceVersion, with bookmarks when asked', async () => {
    const rv = (await get(CMS)).json().metadata.resourceVersion;
    const s = await stream(h, `${CMS}?watch=true&resourceVersion=${rv}&allowWatchBookmarks=true`, { token: h.admin });
    await post(CMS, cm('w1'));
    await call(h, `${CMS}/w1`, { method: 'DELETE', token: h.admin });
    const a = JSON.parse(await s.next());
    const d = JSON.parse(await s.next());
    expect([a.type, a.object.metadata.name, d.type]).toEqual(['ADDED', 'w1', 'DELETED']);
    s.close();
  });

  it('deletes a collection by label selector', async () => {
    await post(CMS, cm('dc-1', {}, { batch: 'x' }));
    await post(CMS, cm('dc-2', {}, { batch: 'x' }));
    const r = await call(h, `${CMS}?labelSelector=batch%3Dx`, { method: 'DELETE', token: h.admin });
    expect(r.status).toBe(200);
    expect(r.json().items.map((i: { metadata: { name: string } }) => i.metadata.name)).toEqual(['dc-1', 'dc-2']);
    expect((await get(`${CMS}/dc-1`)).status).toBe(404);
  });

  it('creates and deletes namespaces, with their contents', async () => {
    expect((await post('/api/v1/namespaces', { metadata: { name: 'team-a' } })).status).toBe(201);
    expect((await post('/api/v1/namespaces/team-a/configmaps', cm('inside'))).status).toBe(201);
    const del = await call(h, '/api/v1/namespaces/team-a', { method: 'DELETE', token: h.admin });
    expect(del.json().status.phase).toBe('Terminating');
    expect((await get('/api/v1/namespaces/team-a')).status).toBe(404);
    expect((await get('/api/v1/namespaces/team-a/configmaps/inside')).status).toBe(404);
  });
});

describe('dryRun', () => {
  it('answers as if stored but stores and announces nothing', async () => {
    const rv = (await get(CMS)).json().metadata.resourceVersion;
    const s = await stream(h, `${CMS}?watch=true&resourceVersion=${rv}`, { token: h.admin });
    const created = await post(`${CMS}?dryRun=All`, cm('dry'));
    expect(created.status).toBe(201);
    expect(created.json().metadata.uid).toBeDefined();
    expect((await get(`${CMS}/dry`)).status).toBe(404);
    const real = (await post(CMS, cm('wet'))).json();
    const upd = await put(`${CMS}/wet?dryRun=All`, { ...real, data: { a: 'dry' } });
    expect(upd.json().data).toEqual({ a: 'dry' });
    expect((await get(`${CMS}/wet`)).json().data).toEqual({ a: '1' });
    const del = await call(h, `${CMS}/wet?dryRun=All`, { method: 'DELETE', token: h.admin });
    expect(del.status).toBe(200);
    expect((await get(`${CMS}/wet`)).status).toBe(200);
    const pod = await post('/api/v1/namespaces/default/pods?dryRun=All', {
      metadata: { name: 'dry-pod' },
      spec: { containers: [{ name: 'c', image: 'busybox:1.36' }] },
    });
    expect(pod.status).toBe(201);
    expect((await get('/api/v1/namespaces/default/pods/dry-pod')).status).toBe(404);
    // The only event is the real create.
    const e = JSON.parse(await s.next());
    expect([e.type, e.object.metadata.name]).toEqual(['ADDED', 'wet']);
    s.close();
  });

  it('refuses unknown dryRun values as the apiserver does', async () => {
    const r = await post(`${CMS}?dryRun=Yes`, cm('never'));
    expect(r.status).toBe(422);
    expect(r.json().message).toBe('CreateOptions.meta.k8s.io "" is invalid: dryRun: Unsupported value: []string{"Yes"}: supported values: "All"');
    expect((await get(`${CMS}/never`)).status).toBe(404);
  });
});

describe('RBAC on the new kinds', () => {
  it('lets view read workloads and config but not secrets, and write nothing', async () => {
    await post('/api/v1/namespaces/default/secrets', { metadata: { name: 's1' }, stringData: { x: 'y' } });
    expect((await get('/apis/apps/v1/namespaces/default/deployments', h.viewer)).status).toBe(200);
    expect((await get(CMS, h.viewer)).status).toBe(200);
    const secret = await get('/api/v1/namespaces/default/secrets/s1', h.viewer);
    expect(secret.status).toBe(403);
    expect(secret.json().message).toMatch(/secrets "s1" is forbidden: User ".*" cannot get resource "secrets" in API group "" in the namespace "default"/);
    expect((await post(CMS, cm('by-viewer'), h.viewer)).status).toBe(403);
    expect((await get('/apis/rbac.authorization.k8s.io/v1/clusterroles', h.viewer)).status).toBe(403);
  });
});

describe('CustomResourceDefinitions', () => {
  it('serve their kind, in discovery too, until deleted', async () => {
    const crd = {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: 'widgets.example.com' },
      spec: {
        group: 'example.com',
        scope: 'Namespaced',
        names: { plural: 'widgets', singular: 'widget', kind: 'Widget', shortNames: ['wd'] },
        versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } }],
      },
    };
    const created = await post('/apis/apiextensions.k8s.io/v1/customresourcedefinitions', crd);
    expect(created.status).toBe(201);
    expect(created.json().status.conditions).toContainEqual(expect.objectContaining({ type: 'Established', status: 'True' }));
    const groups = (await get('/apis')).json().groups.map((g: { name: string }) => g.name);
    expect(groups).toContain('example.com');
    expect((await get('/apis/example.com/v1')).json().resources[0]).toMatchObject({ name: 'widgets', kind: 'Widget', namespaced: true, shortNames: ['wd'] });
    const w = await post('/apis/example.com/v1/namespaces/default/widgets', {
      apiVersion: 'example.com/v1',
      kind: 'Widget',
      metadata: { name: 'w' },
      spec: { size: 3 },
    });
    expect(w.status).toBe(201);
    expect(w.json().metadata.generation).toBe(1);
    expect((await get('/apis/example.com/v1/namespaces/default/widgets/w')).json().spec).toEqual({ size: 3 });
    const schemas = (await get('/openapi/v3/apis/example.com/v1')).json().components.schemas;
    expect(schemas['com.example.v1.Widget']).toMatchObject({
      type: 'object',
      'x-kubernetes-group-version-kind': [{ group: 'example.com', version: 'v1', kind: 'Widget' }],
    });
    await call(h, '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.example.com', { method: 'DELETE', token: h.admin });
    expect((await get('/apis/example.com/v1/namespaces/default/widgets/w')).status).toBe(404);
    expect((await get('/apis')).json().groups.map((g: { name: string }) => g.name)).not.toContain('example.com');
  });
});

describe('PATCH over HTTP', () => {
  const patch = (path: string, body: unknown, type: string) =>
    call(h, path, { method: 'PATCH', token: h.admin, body: JSON.stringify(body), headers: { 'content-type': type } });

  it('takes the four patch types and refuses others with 415', async () => {
    await post(CMS, cm('p1'));
    expect((await patch(`${CMS}/p1`, [{ op: 'add', path: '/data/b', value: '2' }], 'application/json-patch+json')).json().data).toEqual({ a: '1', b: '2' });
    expect((await patch(`${CMS}/p1`, { data: { a: null } }, 'application/merge-patch+json')).json().data).toEqual({ b: '2' });
    expect((await patch(`${CMS}/p1`, { metadata: { labels: { x: 'y' } } }, 'application/strategic-merge-patch+json')).json().metadata.labels).toEqual({
      x: 'y',
    });
    expect((await patch(`${CMS}/p1`, { data: {} }, 'application/xml')).status).toBe(415);
    const failed = await patch(`${CMS}/p1`, [{ op: 'test', path: '/data/b', value: 'no' }], 'application/json-patch+json');
    expect(failed.status).toBe(422);
    expect((await patch(`${CMS}/absent`, { data: {} }, 'application/merge-patch+json')).status).toBe(404);
  });

  it('server-side applies: creates, re-applies without a change, needs a fieldManager, and honours dryRun', async () => {
    const body = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'ssa1' }, data: { k: 'v' } };
    const noManager = await patch(`${CMS}/ssa1`, body, 'application/apply-patch+yaml');
    expect(noManager.status).toBe(422);
    expect(noManager.json().message).toBe('PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch');
    const dry = await patch(`${CMS}/ssa1?fieldManager=ci&dryRun=All`, body, 'application/apply-patch+yaml');
    expect(dry.status).toBe(201);
    expect((await get(`${CMS}/ssa1`)).status).toBe(404);
    const created = await patch(`${CMS}/ssa1?fieldManager=ci`, body, 'application/apply-patch+yaml');
    expect(created.status).toBe(201);
    const again = await patch(`${CMS}/ssa1?fieldManager=ci`, body, 'application/apply-patch+yaml');
    expect(again.status).toBe(200);
    expect(again.json().metadata.resourceVersion).toBe(created.json().metadata.resourceVersion);
    const conflict = await patch(`${CMS}/ssa1?fieldManager=other`, { ...body, data: { k: 'w' } }, 'application/apply-patch+yaml');
    expect(conflict.status).toBe(409);
    expect(conflict.json()).toMatchObject({ reason: 'Conflict', message: 'Apply failed with 1 conflict: conflict with "ci" using v1: .data.k' });
  });
});
