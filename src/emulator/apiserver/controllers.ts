/**
 * Just enough of kube-controller-manager for pipelines' waits to finish: a Deployment gets a
 * ReplicaSet per pod template (old ones scaled to 0), a ReplicaSet, StatefulSet or DaemonSet gets
 * its pods (Running at once, with the images they were given), a Job's pod runs and succeeds, and
 * each gets the status and conditions `kubectl rollout status` and `kubectl wait` read. Reacts to
 * store changes after the write that caused them has been answered; writes through writes.ts.
 */
import { createHash } from 'node:crypto';
import type { ChangeEvent, ObjectStore, StoredObject } from './store.js';
import type { ObjectWriter, WriteOptions } from './writes.js';
import type { ResourceDef, ResourceRegistry } from './resource-table.js';
import type { KubeObject } from './types.js';

const MANAGER: WriteOptions = { dryRun: false, manager: 'kube-controller-manager' };
const STATUS: WriteOptions = { ...MANAGER, subresource: 'status' };
const OWNED = new Set(['apps/deployments', 'apps/replicasets', 'apps/statefulsets', 'apps/daemonsets', 'batch/jobs']);

/** Kubernetes' short hashes look like "5d4f8b7c9c": ten characters of a hash of the pod template. */
function templateHash(template: unknown): string {
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
  const digest = createHash('sha256')
    .update(JSON.stringify(template ?? {}))
    .digest();
  return [...digest.subarray(0, 10)].map((b) => alphabet[b % alphabet.length]).join('');
}

const suffix = () => Math.random().toString(36).slice(2, 7).padEnd(5, 'x');

function ownerRef(o: KubeObject): KubeObject {
  return { apiVersion: o.apiVersion, kind: o.kind, name: o.metadata.name, uid: o.metadata.uid, controller: true, blockOwnerDeletion: true };
}

const ownedBy = (item: StoredObject, uid: string) => ((item.object.metadata.ownerReferences ?? []) as KubeObject[]).some((r) => r.uid === uid && r.controller);

function condition(type: string, status: string, reason: string, message: string, at: string): KubeObject {
  return { type, status, lastUpdateTime: at, lastTransitionTime: at, reason, message };
}

export class Controllers {
  readonly #store: ObjectStore;
  readonly #writer: ObjectWriter;
  readonly #registry: ResourceRegistry;
  readonly #now: () => number;
  readonly #pending = new Map<string, StoredObject>();
  #scheduled = false;
  #stopped = false;
  /** Reconciles run one at a time (a ReplicaSet must not create its pods twice). */
  #chain: Promise<void> = Promise.resolve();
  readonly #onChange = (e: ChangeEvent) => this.#changed(e);

  constructor(store: ObjectStore, writer: ObjectWriter, registry: ResourceRegistry, now: () => number) {
    this.#store = store;
    this.#writer = writer;
    this.#registry = registry;
    this.#now = now;
    store.on('change', this.#onChange);
  }

  stop(): void {
    this.#stopped = true;
    this.#store.off('change', this.#onChange);
  }

  #def(group: string, resource: string): ResourceDef {
    return this.#registry.lookup(group, 'v1', resource)!;
  }

  #changed(e: ChangeEvent): void {
    const { item } = e;
    if (OWNED.has(item.resource) && e.type !== 'DELETED') this.#enqueue(item);
    // A pod or ReplicaSet going away (or changing) is news for its owner.
    if (item.resource === '/pods' || item.resource === 'apps/replicasets') {
      const owner = ((item.object.metadata.ownerReferences ?? []) as KubeObject[]).find((r) => r.controller);
      if (!owner) return;
      const resource = {
        ReplicaSet: 'apps/replicasets',
        Deployment: 'apps/deployments',
        StatefulSet: 'apps/statefulsets',
        DaemonSet: 'apps/daemonsets',
        Job: 'batch/jobs',
      }[String(owner.kind)];
      const parent = resource ? this.#store.get(resource, item.namespace, String(owner.name)) : undefined;
      if (parent) this.#enqueue(parent);
    }
  }

  #enqueue(item: StoredObject): void {
    this.#pending.set(`${item.resource}/${item.namespace}/${item.name}`, item);
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#chain = this.#chain.then(() => this.#drain());
    });
  }

  async #drain(): Promise<void> {
    this.#scheduled = false;
    const batch = [...this.#pending.values()];
    this.#pending.clear();
    for (const stale of batch) {
      if (this.#stopped) return;
      const item = this.#store.get(stale.resource, stale.namespace, stale.name);
      if (!item) continue;
      try {
        await this.#reconcile(item);
      } catch {
        // The object or its namespace went away meanwhile: the next change brings it back here.
      }
    }
  }

  async #reconcile(item: StoredObject): Promise<void> {
    switch (item.resource) {
      case 'apps/deployments':
        return this.#deployment(item);
      case 'apps/replicasets':
        return this.#replicaSet(item);
      case 'apps/statefulsets':
        return this.#statefulSet(item);
      case 'apps/daemonsets':
        return this.#daemonSet(item);
      case 'batch/jobs':
        return this.#job(item);
      default:
    }
  }

  #time(): string {
    return new Date(Math.floor(this.#now() / 1000) * 1000).toISOString().replace('.000Z', 'Z');
  }

  #setStatus(def: ResourceDef, item: StoredObject, status: KubeObject): void {
    const current = this.#store.get(item.resource, item.namespace, item.name);
    if (!current) return;
    // Keep transition times when nothing else about a condition changed, so re-reconciling is a no-op.
    const before: KubeObject[] = current.object.status?.conditions ?? [];
    for (const c of (status.conditions ?? []) as KubeObject[]) {
      const old = before.find((b) => b.type === c.type && b.status === c.status && b.reason === c.reason);
      if (old) Object.assign(c, { lastUpdateTime: old.lastUpdateTime, lastTransitionTime: old.lastTransitionTime });
    }
    const candidate = { ...current.object, metadata: { ...current.object.metadata }, status };
    delete candidate.metadata.resourceVersion;
    this.#writer.update(def, current, candidate, STATUS);
  }

  #setReplicas(def: ResourceDef, item: StoredObject, replicas: number, annotations?: Record<string, string>): void {
    const o = item.object;
    if (o.spec?.replicas === replicas && !annotations) return;
    const metadata = { ...o.metadata, ...(annotations ? { annotations: { ...o.metadata.annotations, ...annotations } } : {}) };
    delete metadata.resourceVersion;
    this.#writer.update(def, item, { ...o, metadata, spec: { ...o.spec, replicas } }, MANAGER);
  }

  /** Creates a pod from `template` owned by `owner`. */
  async #createPod(owner: KubeObject, name: string, template: KubeObject, labels: Record<string, string> = {}): Promise<void> {
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name,
        labels: { ...template.metadata?.labels, ...labels },
        ...(template.metadata?.annotations ? { annotations: template.metadata.annotations } : {}),
        ownerReferences: [ownerRef(owner)],
      },
      spec: template.spec ?? {},
    };
    await this.#writer.create(this.#def('', 'pods'), owner.metadata.namespace, pod, MANAGER);
  }

  #pods(owner: StoredObject): StoredObject[] {
    return this.#store.list('/pods', owner.namespace).filter((p) => ownedBy(p, owner.object.metadata.uid));
  }

  async #deployment(item: StoredObject): Promise<void> {
    const d = item.object;
    const rsDef = this.#def('apps', 'replicasets');
    const desired = Number(d.spec?.replicas ?? 1);
    const hash = templateHash(d.spec?.template);
    const owned = this.#store.list('apps/replicasets', item.namespace).filter((rs) => ownedBy(rs, d.metadata.uid));
    const revisionOf = (rs: StoredObject) => Number(rs.object.metadata.annotations?.['deployment.kubernetes.io/revision'] ?? 0);
    let current = owned.find((rs) => rs.object.metadata.labels?.['pod-template-hash'] === hash);
    const revision = String(Math.max(0, ...owned.map(revisionOf)) + (current ? 0 : 1));
    if (!current) {
      const template = d.spec?.template ?? {};
      await this.#writer.create(
        rsDef,
        item.namespace,
        {
          metadata: {
            name: `${item.name}-${hash}`,
            labels: { ...template.metadata?.labels, 'pod-template-hash': hash },
            annotations: { 'deployment.kubernetes.io/desired-replicas': String(desired), 'deployment.kubernetes.io/revision': revision },
            ownerReferences: [ownerRef(d)],
          },
          spec: {
            replicas: desired,
            selector: { ...d.spec?.selector, matchLabels: { ...d.spec?.selector?.matchLabels, 'pod-template-hash': hash } },
            template: { ...template, metadata: { ...template.metadata, labels: { ...template.metadata?.labels, 'pod-template-hash': hash } } },
          },
        },
        MANAGER,
      );
      return; // the new ReplicaSet's own changes bring this deployment back
    }
    this.#setReplicas(rsDef, current, desired);
    for (const old of owned) if (old !== current) this.#setReplicas(rsDef, old, 0);
    current = this.#store.get('apps/replicasets', item.namespace, current.name) ?? current;
    const all = this.#store.list('apps/replicasets', item.namespace).filter((rs) => ownedBy(rs, d.metadata.uid));
    const sum = (f: string) => all.reduce((n, rs) => n + Number(rs.object.status?.[f] ?? 0), 0);
    const updated = Number(current.object.status?.replicas ?? 0);
    const available = sum('availableReplicas');
    const replicas = sum('replicas');
    const done = updated === desired && replicas === desired && available === desired;
    const at = this.#time();
    this.#setStatus(this.#def('apps', 'deployments'), item, {
      observedGeneration: d.metadata.generation,
      replicas,
      updatedReplicas: updated,
      readyReplicas: sum('readyReplicas'),
      availableReplicas: available,
      ...(replicas - available > 0 ? { unavailableReplicas: replicas - available } : {}),
      conditions: [
        available >= desired
          ? condition('Available', 'True', 'MinimumReplicasAvailable', 'Deployment has minimum availability.', at)
          : condition('Available', 'False', 'MinimumReplicasUnavailable', 'Deployment does not have minimum availability.', at),
        done
          ? condition('Progressing', 'True', 'NewReplicaSetAvailable', `ReplicaSet "${current.name}" has successfully progressed.`, at)
          : condition('Progressing', 'True', 'ReplicaSetUpdated', `ReplicaSet "${current.name}" is progressing.`, at),
      ],
    });
  }

  async #replicaSet(item: StoredObject): Promise<void> {
    const rs = item.object;
    const desired = Number(rs.spec?.replicas ?? 1);
    const pods = this.#pods(item);
    for (let i = pods.length; i < desired; i++) await this.#createPod(rs, `${item.name}-${suffix()}`, rs.spec?.template ?? {});
    for (const extra of pods.slice(desired)) this.#writer.remove(this.#def('', 'pods'), extra, false);
    const count = Math.min(this.#pods(item).length, desired);
    this.#setStatus(this.#def('apps', 'replicasets'), item, {
      replicas: count,
      fullyLabeledReplicas: count,
      readyReplicas: count,
      availableReplicas: count,
      observedGeneration: rs.metadata.generation,
    });
  }

  async #statefulSet(item: StoredObject): Promise<void> {
    const sts = item.object;
    const desired = Number(sts.spec?.replicas ?? 1);
    const revision = `${item.name}-${templateHash(sts.spec?.template)}`;
    const podDef = this.#def('', 'pods');
    for (const pod of this.#pods(item)) {
      const ordinal = Number(pod.name.slice(item.name.length + 1));
      if (ordinal >= desired || pod.object.metadata.labels?.['controller-revision-hash'] !== revision) this.#writer.remove(podDef, pod, false);
    }
    for (let i = 0; i < desired; i++) {
      const name = `${item.name}-${i}`;
      if (!this.#store.has('/pods', item.namespace, name)) {
        await this.#createPod(sts, name, sts.spec?.template ?? {}, {
          'controller-revision-hash': revision,
          'statefulset.kubernetes.io/pod-name': name,
          'apps.kubernetes.io/pod-index': String(i),
        });
      }
    }
    this.#setStatus(this.#def('apps', 'statefulsets'), item, {
      observedGeneration: sts.metadata.generation,
      replicas: desired,
      readyReplicas: desired,
      currentReplicas: desired,
      updatedReplicas: desired,
      availableReplicas: desired,
      currentRevision: revision,
      updateRevision: revision,
      collisionCount: 0,
    });
  }

  async #daemonSet(item: StoredObject): Promise<void> {
    const ds = item.object;
    const hash = templateHash(ds.spec?.template);
    const pods = this.#pods(item);
    for (const pod of pods) if (pod.object.metadata.labels?.['controller-revision-hash'] !== hash) this.#writer.remove(this.#def('', 'pods'), pod, false);
    if (!this.#pods(item).length) await this.#createPod(ds, `${item.name}-${suffix()}`, ds.spec?.template ?? {}, { 'controller-revision-hash': hash });
    this.#setStatus(this.#def('apps', 'daemonsets'), item, {
      currentNumberScheduled: 1,
      desiredNumberScheduled: 1,
      numberAvailable: 1,
      numberMisscheduled: 0,
      numberReady: 1,
      updatedNumberScheduled: 1,
      observedGeneration: ds.metadata.generation,
    });
  }

  async #job(item: StoredObject): Promise<void> {
    const job = item.object;
    if (job.status?.completionTime || job.spec?.suspend) return;
    const podDef = this.#def('', 'pods');
    if (this.#pods(item).length === 0) {
      await this.#createPod(job, `${item.name}-${suffix()}`, job.spec?.template ?? {});
      return;
    }
    // The pod ran and exited 0.
    const at = this.#time();
    for (const pod of this.#pods(item)) {
      if (pod.object.status?.phase === 'Succeeded') continue;
      const statuses: KubeObject[] = pod.object.status?.containerStatuses ?? [];
      const status = {
        ...pod.object.status,
        phase: 'Succeeded',
        conditions: ((pod.object.status?.conditions ?? []) as KubeObject[]).map((c) =>
          c.type === 'Ready' || c.type === 'ContainersReady' ? { ...c, status: 'False', reason: 'PodCompleted' } : c,
        ),
        containerStatuses: statuses.map((c) => ({
          ...c,
          ready: false,
          started: false,
          state: { terminated: { exitCode: 0, reason: 'Completed', startedAt: c.state?.running?.startedAt ?? at, finishedAt: at, containerID: c.containerID } },
        })),
      };
      const candidate = { ...pod.object, metadata: { ...pod.object.metadata }, status };
      delete candidate.metadata.resourceVersion;
      this.#writer.update(podDef, pod, candidate, STATUS);
    }
    const start = job.status?.startTime ?? job.metadata.creationTimestamp;
    this.#setStatus(this.#def('batch', 'jobs'), item, {
      startTime: start,
      completionTime: at,
      succeeded: Number(job.spec?.completions ?? 1),
      ready: 0,
      active: 0,
      terminating: 0,
      uncountedTerminatedPods: {},
      conditions: [
        {
          type: 'SuccessCriteriaMet',
          status: 'True',
          reason: 'CompletionsReached',
          message: 'Reached expected number of succeeded pods',
          lastProbeTime: at,
          lastTransitionTime: at,
        },
        {
          type: 'Complete',
          status: 'True',
          reason: 'CompletionsReached',
          message: 'Reached expected number of succeeded pods',
          lastProbeTime: at,
          lastTransitionTime: at,
        },
      ],
    });
  }
}
