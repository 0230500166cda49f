/** SelfSubjectReview, SelfSubjectAccessReview (JSON and protobuf) and SelfSubjectRulesReview. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, startHarness, type Harness } from './harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ now: () => Date.parse('2026-03-01T12:00:00Z') });
});
afterAll(async () => {
  await h?.server.close();
});

/** Protobuf encoding of length-delimited string/message fields, as kubectl's client sends them. */
function field(n: number, value: Buffer | string): Buffer {
  const data = typeof value === 'string' ? Buffer.from(value) : value;
  const len: number[] = [];
  let l = data.length;
  do {
    len.push((l & 0x7f) | (l > 0x7f ? 0x80 : 0));
    l >>= 7;
  } while (l > 0);
  return Buffer.concat([Buffer.from([(n << 3) | 2, ...len]), data]);
}

function protobufAccessReview(attrs: { namespace: string; verb: string; resource: string; subresource?: string }): Buffer {
  const ra = Buffer.concat([
    field(1, attrs.namespace),
    field(2, attrs.verb),
    field(5, attrs.resource),
    ...(attrs.subresource ? [field(6, attrs.subresource)] : []),
  ]);
  const review = Buffer.concat([field(1, Buffer.alloc(0)), field(2, field(1, ra))]);
  const typeMeta = Buffer.concat([field(1, 'authorization.k8s.io/v1'), field(2, 'SelfSubjectAccessReview')]);
  return Buffer.concat([Buffer.from('k8s\0', 'binary'), field(1, typeMeta), field(2, review)]);
}

const PROTOBUF = { 'content-type': 'application/vnd.kubernetes.protobuf', accept: 'application/vnd.kubernetes.protobuf,application/json' };

describe('SelfSubjectReview', () => {
  it('answers whoami in JSON whatever the body, for v1 and the older versions', async () => {
    for (const version of ['v1', 'v1beta1', 'v1alpha1']) {
      const r = await call(h, `/apis/authentication.k8s.io/${version}/selfsubjectreviews`, {
        token: h.nobody,
        method: 'POST',
        body: Buffer.from([0x6b, 0x38, 0x73, 0, 1, 2, 3]),
        headers: PROTOBUF,
      });
      expect(r.status, version).toBe(201);
      expect(r.json()).toEqual({
        kind: 'SelfSubjectReview',
        apiVersion: `authentication.k8s.io/${version}`,
        metadata: { creationTimestamp: '2026-03-01T12:00:00.000Z' },
        status: {
          userInfo: {
            username: 'system:serviceaccount:default:demo-nobody',
            groups: ['system:serviceaccounts', 'system:serviceaccounts:default', 'system:authenticated'],
          },
        },
      });
    }
  });

  it('needs a valid token', async () => {
    expect((await call(h, '/apis/authentication.k8s.io/v1/selfsubjectreviews', { method: 'POST', body: '{}' })).status).toBe(401);
  });
});

describe('SelfSubjectAccessReview', () => {
  const review = (token: string, resourceAttributes: object) =>
    call(h, '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', {
      token,
      method: 'POST',
      body: JSON.stringify({ kind: 'SelfSubjectAccessReview', apiVersion: 'authorization.k8s.io/v1', spec: { resourceAttributes } }),
    });

  it('evaluates JSON reviews against the bindings', async () => {
    const cases: [string, object, boolean][] = [
      [h.admin, { namespace: 'default', verb: 'delete', resource: 'pods' }, true],
      [h.viewer, { namespace: 'default', verb: 'list', resource: 'pods' }, true],
      [h.viewer, { namespace: 'default', verb: 'get', resource: 'pods', subresource: 'log' }, true],
      [h.viewer, { namespace: 'default', verb: 'create', resource: 'pods', subresource: 'exec' }, false],
      [h.viewer, { namespace: 'default', verb: 'create', resource: 'pods', subresource: 'portforward' }, false],
      [h.nobody, { namespace: 'default', verb: 'list', resource: 'pods' }, false],
    ];
    for (const [token, attrs, allowed] of cases) {
      const r = await review(token, attrs);
      expect(r.status).toBe(201);
      expect(r.json().status.allowed, JSON.stringify(attrs)).toBe(allowed);
    }
  });

  it('reads protobuf reviews as kubectl auth can-i sends them', async () => {
    const ask = async (token: string, verb: string) =>
      (
        await call(h, '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', {
          token,
          method: 'POST',
          body: protobufAccessReview({ namespace: 'default', verb, resource: 'pods' }),
          headers: PROTOBUF,
        })
      ).json();
    const viewerList = await ask(h.viewer, 'list');
    expect(viewerList.spec.resourceAttributes).toMatchObject({ namespace: 'default', verb: 'list', resource: 'pods' });
    expect(viewerList.status.allowed).toBe(true);
    expect((await ask(h.viewer, 'delete')).status.allowed).toBe(false);
  });

  it('allows discovery paths to everyone and other non-resource URLs to cluster-admin only', async () => {
    const ask = async (token: string, path: string) =>
      (
        await call(h, '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', {
          token,
          method: 'POST',
          body: JSON.stringify({ spec: { nonResourceAttributes: { path, verb: 'get' } } }),
        })
      ).json().status.allowed;
    expect(await ask(h.nobody, '/version')).toBe(true);
    expect(await ask(h.nobody, '/metrics')).toBe(false);
    expect(await ask(h.admin, '/metrics')).toBe(true);
  });

  it('refuses a body it cannot read', async () => {
    const r = await call(h, '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', { token: h.admin, method: 'POST', body: 'not json' });
    expect(r.status).toBe(400);
  });
});

describe('SelfSubjectRulesReview', () => {
  it('lists the rules the binding grants, echoing the namespace', async () => {
    const rules = async (token: string) =>
      (
        await call(h, '/apis/authorization.k8s.io/v1/selfsubjectrulesreviews', {
          token,
          method: 'POST',
          body: JSON.stringify({ spec: { namespace: 'default' } }),
        })
      ).json();
    const viewer = await rules(h.viewer);
    expect(viewer.spec).toEqual({ namespace: 'default' });
    const core = viewer.status.resourceRules.find((r: { apiGroups: string[] }) => r.apiGroups[0] === '');
    expect(core.verbs).toEqual(['get', 'list', 'watch']);
    expect(core.resources).toEqual(expect.arrayContaining(['pods', 'pods/log', 'pods/status', 'namespaces', 'configmaps', 'services']));
    expect(core.resources).not.toContain('secrets');
    expect(viewer.status.resourceRules).toContainEqual(expect.objectContaining({ apiGroups: ['apps'], resources: expect.arrayContaining(['deployments']) }));
    const nobody = await rules(h.nobody);
    expect(nobody.status.resourceRules.every((r: { apiGroups: string[] }) => r.apiGroups[0] !== '')).toBe(true);
    expect((await rules(h.admin)).status.resourceRules).toContainEqual({ verbs: ['*'], apiGroups: ['*'], resources: ['*'] });
  });
});
