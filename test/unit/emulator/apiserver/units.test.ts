/** Pure pieces of the REST core: selectors, paths, ages and tables, RBAC decisions, pod runtimes. */
import { describe, expect, it } from 'vitest';
import { parseSelectors } from '../../../../src/emulator/apiserver/selectors.js';
import { parseApiPath, resourceTarget } from '../../../../src/emulator/apiserver/paths.js';
import { humanAge, toTable, wantsTable } from '../../../../src/emulator/apiserver/table.js';
import { Identities } from '../../../../src/emulator/apiserver/identity.js';
import { EmulatedPod } from '../../../../src/emulator/apiserver/pod-runtime.js';
import { demoKubernetes } from './harness.js';

describe('selectors', () => {
  const labels = { app: 'web', tier: 'front' };
  const fields = { 'metadata.name': 'web-1', 'metadata.namespace': 'default' };
  const matches = (label: string | null, field: string | null) => parseSelectors(label, field)(labels, fields);

  it('matches equality, inequality and existence on labels', () => {
    expect(matches('app=web', null)).toBe(true);
    expect(matches('app==web,tier=front', null)).toBe(true);
    expect(matches('app!=web', null)).toBe(false);
    expect(matches('tier', null)).toBe(true);
    expect(matches('!tier', null)).toBe(false);
    expect(matches('missing', null)).toBe(false);
  });

  it('matches set-based label terms', () => {
    expect(matches('app in (api, web),tier', null)).toBe(true);
    expect(matches('app notin (web)', null)).toBe(false);
    expect(matches('other notin (x)', null)).toBe(true);
  });

  it('matches metadata.name and metadata.namespace fields; a field the caller did not supply matches nothing', () => {
    expect(matches(null, 'metadata.name=web-1')).toBe(true);
    expect(matches(null, 'metadata.name=web-2')).toBe(false);
    expect(matches(null, 'metadata.namespace!=default')).toBe(false);
    expect(matches(null, 'status.phase=Running')).toBe(false);
    expect(matches(null, 'status.phase!=Running')).toBe(true);
    expect(matches('', '')).toBe(true);
  });
});

describe('paths', () => {
  it('splits core and group paths', () => {
    expect(parseApiPath('/api/v1/namespaces/default/pods')).toEqual({ group: '', version: 'v1', rest: ['namespaces', 'default', 'pods'] });
    expect(parseApiPath('/apis/authorization.k8s.io/v1/selfsubjectaccessreviews')).toEqual({
      group: 'authorization.k8s.io',
      version: 'v1',
      rest: ['selfsubjectaccessreviews'],
    });
    expect(parseApiPath('/openapi/v2')).toBeUndefined();
  });

  it('names the resource, object, subresource and legacy watch', () => {
    expect(resourceTarget(['namespaces', 'default', 'pods', 'hello-0', 'log'])).toEqual({
      namespace: 'default',
      resource: 'pods',
      name: 'hello-0',
      subresource: 'log',
    });
    expect(resourceTarget(['pods'])).toEqual({ resource: 'pods' });
    expect(resourceTarget(['namespaces', 'kube-system'])).toEqual({ resource: 'namespaces', name: 'kube-system' });
    expect(resourceTarget(['watch', 'namespaces', 'default', 'pods'])).toEqual({ namespace: 'default', resource: 'pods', watchPath: true });
    expect(resourceTarget(['namespaces', 'default', 'pods', 'a', 'log', 'extra'])).toBeUndefined();
  });
});

describe('tables', () => {
  it('formats ages like kubectl', () => {
    expect([5_000, 119_000, 125_000, 3_600_000, 8 * 3_600_000 + 60_000, 3 * 86_400_000 + 3_600_000, 30 * 86_400_000].map(humanAge)).toEqual([
      '5s',
      '119s',
      '2m5s',
      '60m',
      '8h',
      '3d1h',
      '30d',
    ]);
  });

  it('recognises Table requests', () => {
    expect(wantsTable('application/json;as=Table;v=v1;g=meta.k8s.io,application/json')).toBe(true);
    expect(wantsTable('application/json')).toBe(false);
    expect(wantsTable(undefined)).toBe(false);
  });

  it('shows Terminating for a pod being deleted, and omits row objects for includeObject=None', () => {
    const created = '2026-01-01T00:00:00.000Z';
    const pod = {
      kind: 'Pod' as const,
      resource: '/pods',
      namespace: 'default',
      name: 'p',
      object: {
        metadata: { name: 'p', creationTimestamp: created, deletionTimestamp: created },
        spec: { nodeName: 'n' },
        status: {
          phase: 'Running',
          podIP: '10.0.0.1',
          containerStatuses: [
            { ready: true, restartCount: 2 },
            { ready: false, restartCount: 1 },
          ],
        },
      },
    };
    const t = toTable([pod], 'Pod', 7, Date.parse(created) + 90_000, 'None') as { rows: { cells: unknown[]; object?: unknown }[]; metadata: unknown };
    expect(t.metadata).toEqual({ resourceVersion: '7' });
    expect(t.rows[0]!.cells.slice(0, 5)).toEqual(['p', '1/2', 'Terminating', '3', '90s']);
    expect(t.rows[0]!.object).toBeUndefined();
  });
});

describe('RBAC from seed bindings', () => {
  const k = demoKubernetes();
  const ids = new Identities(k);
  const sa = (name: string) => ({
    username: `system:serviceaccount:default:${name}`,
    groups: ['system:serviceaccounts', 'system:serviceaccounts:default', 'system:authenticated'],
  });
  const pods = (verb: string, subresource?: string) => ({ verb, group: '', resource: 'pods', namespace: 'default', ...(subresource ? { subresource } : {}) });

  it('finds the role by service account, user or group', () => {
    expect(ids.roleOf(sa('demo-admin'))).toBe('cluster-admin');
    expect(ids.roleOf(sa('demo-viewer'))).toBe('view');
    expect(ids.roleOf(sa('demo-nobody'))).toBe('none');
    expect(ids.roleOf({ username: k.bindings[0]!.users![0]!, groups: [] })).toBe('cluster-admin');
    expect(ids.roleOf({ username: 'x', groups: [k.bindings[1]!.groups![0]!] })).toBe('view');
  });

  it('allows view to read but not exec, port-forward, attach, create or delete', () => {
    const viewer = sa('demo-viewer');
    for (const [verb, sub] of [['get'], ['list'], ['watch'], ['get', 'log']] as const)
      expect(ids.allowed(viewer, pods(verb, sub)), `${verb} ${sub ?? ''}`).toBe(true);
    for (const [verb, sub] of [['create', 'exec'], ['create', 'portforward'], ['create', 'attach'], ['create'], ['delete']] as const)
      expect(ids.allowed(viewer, pods(verb, sub)), `${verb} ${sub ?? ''}`).toBe(false);
    expect(ids.allowed(sa('demo-admin'), pods('create', 'exec'))).toBe(true);
    expect(ids.allowed(sa('demo-nobody'), pods('get'))).toBe(false);
  });

  it('words Forbidden messages like the real apiserver', () => {
    expect(Identities.forbiddenMessage(sa('demo-nobody'), { verb: 'get', group: '', resource: 'namespaces', name: 'default' })).toBe(
      'namespaces "default" is forbidden: User "system:serviceaccount:default:demo-nobody" cannot get resource "namespaces" in API group "" at the cluster scope',
    );
  });
});

describe('pod runtime', () => {
  it('echoes on its ports through real sockets and has nothing on others', async () => {
    const pod = new EmulatedPod('default', 'p', ['main'], { HOSTNAME: 'p' });
    await pod.start([8080], false, Date.now);
    try {
      expect(pod.connect(9999)).toBeUndefined();
      const socket = pod.connect(8080)!;
      socket.end('ping');
      let got = '';
      for await (const chunk of socket) got += String(chunk);
      expect(got).toBe('ping');
    } finally {
      await pod.stop();
    }
  });
});
