/** PATCH on parsed objects: JSON patch, merge patch, strategic merge patch with merge keys, and server-side apply ownership. */
import { describe, expect, it } from 'vitest';
import { jsonPatch, mergePatch, PatchError, strategicMerge } from '../../../../src/emulator/apiserver/patch.js';
import { conflictMessage, recordUpdate, serverSideApply } from '../../../../src/emulator/apiserver/managed-fields.js';

const pod = () => ({
  metadata: { name: 'p', labels: { a: '1', b: '2' } },
  spec: {
    containers: [
      { name: 'web', image: 'nginx:1.27', ports: [{ containerPort: 80 }], env: [{ name: 'X', value: '1' }] },
      { name: 'side', image: 'busybox:1.36' },
    ],
  },
});

describe('JSON patch', () => {
  it('applies add, replace, remove, move, copy and test', () => {
    const out = jsonPatch(pod(), [
      { op: 'add', path: '/metadata/labels/c', value: '3' },
      { op: 'replace', path: '/spec/containers/0/image', value: 'nginx:1.28' },
      { op: 'remove', path: '/metadata/labels/a' },
      { op: 'copy', from: '/metadata/labels/b', path: '/metadata/labels/d' },
      { op: 'move', from: '/metadata/labels/c', path: '/metadata/labels/e' },
      { op: 'test', path: '/spec/containers/1/name', value: 'side' },
      { op: 'add', path: '/spec/containers/-', value: { name: 'third', image: 'x' } },
    ]) as any;
    expect(out.metadata.labels).toEqual({ b: '2', d: '2', e: '3' });
    expect(out.spec.containers.map((c: { image: string }) => c.image)).toEqual(['nginx:1.28', 'busybox:1.36', 'x']);
  });

  it('fails a failed test or a missing path, leaving the input alone', () => {
    const input = pod();
    expect(() => jsonPatch(input, [{ op: 'test', path: '/metadata/name', value: 'q' }])).toThrow(PatchError);
    expect(() => jsonPatch(input, [{ op: 'remove', path: '/metadata/annotations/x' }])).toThrow(PatchError);
    expect(input).toEqual(pod());
  });
});

describe('merge patch', () => {
  it('merges maps, deletes nulls and replaces lists whole', () => {
    const out = mergePatch(pod(), { metadata: { labels: { a: null, c: '3' } }, spec: { containers: [{ name: 'only', image: 'y' }] } }) as any;
    expect(out.metadata.labels).toEqual({ b: '2', c: '3' });
    expect(out.spec.containers).toEqual([{ name: 'only', image: 'y' }]);
  });
});

describe('strategic merge patch', () => {
  it('merges containers by name, env by name and container ports by containerPort', () => {
    const out = strategicMerge(pod(), {
      spec: {
        '$setElementOrder/containers': [{ name: 'web' }, { name: 'side' }],
        containers: [{ name: 'web', image: 'nginx:1.28', env: [{ name: 'Y', value: '2' }], ports: [{ containerPort: 80, name: 'http' }] }],
      },
    }) as any;
    expect(out.spec.containers).toHaveLength(2);
    expect(out.spec.containers[0]).toEqual({
      name: 'web',
      image: 'nginx:1.28',
      ports: [{ containerPort: 80, name: 'http' }],
      env: [
        { name: 'X', value: '1' },
        { name: 'Y', value: '2' },
      ],
    });
  });

  it('honours $patch delete and replace, $retainKeys and $deleteFromPrimitiveList', () => {
    const deleted = strategicMerge(pod(), { spec: { containers: [{ name: 'side', $patch: 'delete' }] } }) as any;
    expect(deleted.spec.containers.map((c: { name: string }) => c.name)).toEqual(['web']);
    const replaced = strategicMerge(pod(), { metadata: { labels: { $patch: 'replace', z: '9' } } }) as any;
    expect(replaced.metadata.labels).toEqual({ z: '9' });
    const retained = strategicMerge(
      { spec: { strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1 } } } },
      { spec: { strategy: { $retainKeys: ['type'], type: 'Recreate' } } },
    ) as any;
    expect(retained.spec.strategy).toEqual({ type: 'Recreate' });
    const fin = strategicMerge(
      { metadata: { finalizers: ['a', 'b'] } },
      { metadata: { '$deleteFromPrimitiveList/finalizers': ['a'], finalizers: ['c'] } },
    ) as any;
    expect(fin.metadata.finalizers).toEqual(['b', 'c']);
  });

  it('merges a Service ports by port', () => {
    const svc = { spec: { ports: [{ port: 80, targetPort: 8080 }, { port: 443 }] } };
    const out = strategicMerge(svc, { spec: { ports: [{ port: 80, targetPort: 9090 }] } }) as any;
    expect(out.spec.ports).toEqual([{ port: 80, targetPort: 9090 }, { port: 443 }]);
  });
});

describe('server-side apply', () => {
  const writer = (manager: string) => ({ manager, apiVersion: 'apps/v1', time: '2026-01-01T00:00:00Z' });
  const applied = (replicas: number, labels: Record<string, string> = { app: 'web' }) => ({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', labels },
    spec: { replicas, template: { spec: { containers: [{ name: 'web', image: 'nginx' }] } } },
  });

  it('owns what it applies, and conflicts on a field another manager changed unless forced', () => {
    const first = serverSideApply(undefined, applied(2), writer('ci'), false);
    if (!first.ok) throw new Error('first apply conflicted');
    expect(first.object.metadata.managedFields[0]).toMatchObject({ manager: 'ci', operation: 'Apply' });
    expect(first.object.metadata.managedFields[0].fieldsV1['f:spec']['f:template']['f:spec']['f:containers']).toHaveProperty(['k:{"name":"web"}', 'f:image']);
    const scaled = recordUpdate(first.object, { ...first.object, spec: { ...first.object.spec, replicas: 5 } }, writer('hpa'));
    const again = serverSideApply(scaled, applied(2), writer('ci'), false);
    expect(again.ok).toBe(false);
    if (!again.ok) {
      expect(again.conflicts).toEqual([{ manager: 'hpa', field: '.spec.replicas' }]);
      expect(conflictMessage(again.conflicts, 'apps/v1')).toBe('Apply failed with 1 conflict: conflict with "hpa" using apps/v1: .spec.replicas');
    }
    const forced = serverSideApply(scaled, applied(2), writer('ci'), true);
    expect(forced.ok && forced.object.spec.replicas).toBe(2);
    expect(forced.ok && forced.object.metadata.managedFields.map((e: { manager: string }) => e.manager)).toEqual(['ci']);
  });

  it('removes fields it applied before and no longer applies, and agrees without conflict on equal values', () => {
    const first = serverSideApply(undefined, applied(2, { app: 'web', tier: 'front' }), writer('ci'), false);
    if (!first.ok) throw new Error('conflict');
    const second = serverSideApply(first.object, applied(2), writer('ci'), false);
    expect(second.ok && second.object.metadata.labels).toEqual({ app: 'web' });
    const other = serverSideApply(first.object, applied(2), writer('other'), false);
    expect(other.ok).toBe(true);
  });
});
