/** The controllers: Deployments roll out to Running pods with their images, Jobs complete, StatefulSets get ordinal pods. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, startHarness, type Harness } from './harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.server.close();
});

const send = (method: string, path: string, body: unknown, type = 'application/json') =>
  call(h, path, { method, token: h.admin, body: JSON.stringify(body), headers: { 'content-type': type } });
const get = async (path: string) => (await call(h, path, { token: h.admin })).json();
const DEPLOYS = '/apis/apps/v1/namespaces/default/deployments';

function deployment(name: string, image: string, replicas: number) {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'web', image, ports: [{ containerPort: 8080 }] }] } },
    },
  };
}

const podsOf = async (selector: string) => (await get(`/api/v1/namespaces/default/pods?labelSelector=${encodeURIComponent(selector)}`)).items as any[];

describe('deployments', () => {
  it('roll out to Running pods with the image given, status and conditions as rollout status reads them', async () => {
    expect((await send('POST', DEPLOYS, deployment('roll', 'nginx:1.27', 2))).status).toBe(201);
    await expect
      .poll(async () => (await get(`${DEPLOYS}/roll`)).status, { timeout: 5000 })
      .toMatchObject({ observedGeneration: 1, replicas: 2, updatedReplicas: 2, readyReplicas: 2, availableReplicas: 2 });
    const d = await get(`${DEPLOYS}/roll`);
    expect(d.status.conditions.map((c: { type: string; status: string; reason: string }) => [c.type, c.status, c.reason])).toEqual([
      ['Available', 'True', 'MinimumReplicasAvailable'],
      ['Progressing', 'True', 'NewReplicaSetAvailable'],
    ]);
    const pods = await podsOf('app=roll');
    expect(pods).toHaveLength(2);
    for (const p of pods) {
      expect(p.status.phase).toBe('Running');
      expect(p.spec.containers[0].image).toBe('nginx:1.27');
      expect(p.status.containerStatuses[0].image).toBe('nginx:1.27');
      expect(p.metadata.ownerReferences[0]).toMatchObject({ kind: 'ReplicaSet', controller: true });
    }
    const rsList = (await get('/apis/apps/v1/namespaces/default/replicasets')).items.filter((r: any) => r.metadata.name.startsWith('roll-'));
    expect(rsList).toHaveLength(1);
    expect(rsList[0].metadata.annotations['deployment.kubernetes.io/revision']).toBe('1');
  });

  it('rolls a new template out to a new ReplicaSet and scales the old one to 0', async () => {
    await send('POST', DEPLOYS, deployment('upd', 'nginx:1.27', 1));
    await expect.poll(async () => (await get(`${DEPLOYS}/upd`)).status?.availableReplicas, { timeout: 5000 }).toBe(1);
    const r = await send(
      'PATCH',
      `${DEPLOYS}/upd`,
      { spec: { template: { spec: { containers: [{ name: 'web', image: 'nginx:1.28' }] } } } },
      'application/strategic-merge-patch+json',
    );
    expect(r.status).toBe(200);
    expect(r.json().metadata.generation).toBe(2);
    await expect.poll(async () => (await podsOf('app=upd')).map((p) => p.spec.containers[0].image), { timeout: 5000 }).toEqual(['nginx:1.28']);
    await expect
      .poll(async () => (await get(`${DEPLOYS}/upd`)).status, { timeout: 5000 })
      .toMatchObject({ observedGeneration: 2, replicas: 1, updatedReplicas: 1 });
    const rs = (await get('/apis/apps/v1/namespaces/default/replicasets')).items.filter((x: any) => x.metadata.name.startsWith('upd-'));
    expect(rs.map((x: any) => x.spec.replicas).sort()).toEqual([0, 1]);
  });

  it('scales through the scale subresource, and deleting the deployment deletes its ReplicaSets and pods', async () => {
    await send('POST', DEPLOYS, deployment('sc', 'busybox:1.36', 1));
    const scale = await send('PATCH', `${DEPLOYS}/sc/scale`, { spec: { replicas: 3 } }, 'application/merge-patch+json');
    expect(scale.status).toBe(200);
    expect(scale.json()).toMatchObject({ kind: 'Scale', apiVersion: 'autoscaling/v1', spec: { replicas: 3 } });
    await expect.poll(async () => (await podsOf('app=sc')).length, { timeout: 5000 }).toBe(3);
    expect((await get(`${DEPLOYS}/sc/scale`)).status).toEqual({ replicas: 3, selector: 'app=sc' });
    await call(h, `${DEPLOYS}/sc`, { method: 'DELETE', token: h.admin });
    await expect.poll(async () => (await podsOf('app=sc')).length, { timeout: 5000 }).toBe(0);
  });
});

describe('jobs, statefulsets, daemonsets', () => {
  it('a Job completes', async () => {
    const job = {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: 'once' },
      spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'busybox:1.36', command: ['true'] }] } } },
    };
    expect((await send('POST', '/apis/batch/v1/namespaces/default/jobs', job)).status).toBe(201);
    await expect.poll(async () => (await get('/apis/batch/v1/namespaces/default/jobs/once')).status?.succeeded, { timeout: 5000 }).toBe(1);
    const done = await get('/apis/batch/v1/namespaces/default/jobs/once');
    expect(done.status.conditions).toContainEqual(expect.objectContaining({ type: 'Complete', status: 'True' }));
    const pods = await podsOf('job-name=once');
    expect(pods.map((p) => p.status.phase)).toEqual(['Succeeded']);
  });

  it('a StatefulSet gets ordinal pods and a DaemonSet one pod', async () => {
    const sts = { ...deployment('db', 'postgres:16', 2), kind: 'StatefulSet' };
    expect((await send('POST', '/apis/apps/v1/namespaces/default/statefulsets', sts)).status).toBe(201);
    await expect.poll(async () => (await podsOf('app=db')).map((p) => p.metadata.name).sort(), { timeout: 5000 }).toEqual(['db-0', 'db-1']);
    const ds = { ...deployment('agent', 'fluent-bit:3', 1), kind: 'DaemonSet' };
    delete (ds.spec as { replicas?: number }).replicas;
    expect((await send('POST', '/apis/apps/v1/namespaces/default/daemonsets', ds)).status).toBe(201);
    await expect.poll(async () => (await get('/apis/apps/v1/namespaces/default/daemonsets/agent')).status?.numberReady, { timeout: 5000 }).toBe(1);
  });
});
