/**
 * The apiserver's objects: one Map per resource (keyed `namespace/name`), a resourceVersion that
 * increases with every change, and watch events for each change. Objects are stored as written
 * and never copied on reads (writers replace them whole). Pods also get a runtime (echo ports,
 * log) while they exist.
 */
import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import type { SeedKubernetes } from '../seed.js';
import { EmulatedPod } from './pod-runtime.js';
import type { KubeObject } from './types.js';

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface StoredObject {
  kind: string;
  /** resourceKey(group, plural) of its resource: `/pods`, `apps/deployments`. */
  resource: string;
  namespace?: string;
  name: string;
  object: KubeObject;
}

export interface PodOptions {
  containers?: string[];
  echoPorts?: number[];
  logEverySecond?: boolean;
  /** A generated log of this many bytes instead of the start-up lines (seed `logBytes`). */
  logBytes?: number;
  labels?: Record<string, string>;
}

export interface ChangeEvent {
  type: WatchEventType;
  resourceVersion: number;
  item: StoredObject;
}

export const PODS = '/pods';
const NAMESPACES = '/namespaces';
const NODE_NAME = 'emulated-node-0';
const SEED_IMAGE = 'registry.k8s.io/e2e-test-images/agnhost:2.47';
/** Watch events kept for watches that resume from a resourceVersion. */
const HISTORY_LIMIT = 5000;

const keyOf = (namespace: string | undefined, name: string) => (namespace === undefined ? name : `${namespace}/${name}`);

/** Status of a running pod for its spec's containers (images as given). */
function runningPodStatus(spec: KubeObject, ip: string, started: string): KubeObject {
  const containers: KubeObject[] = spec.containers ?? [];
  return {
    phase: 'Running',
    conditions: ['Initialized', 'Ready', 'ContainersReady', 'PodScheduled'].map((type) => ({ type, status: 'True', lastTransitionTime: started })),
    hostIP: '172.18.0.2',
    podIP: ip,
    podIPs: [{ ip }],
    startTime: started,
    containerStatuses: containers.map((c) => ({
      name: c.name,
      ready: true,
      started: true,
      restartCount: 0,
      image: c.image,
      imageID: `${String(c.image).split(':')[0]}@sha256:0`,
      containerID: `containerd://${randomUUID().replace(/-/g, '')}`,
      state: { running: { startedAt: started } },
    })),
    qosClass: 'BestEffort',
  };
}

export class ObjectStore extends EventEmitter {
  #rv = 100;
  readonly #maps = new Map<string, Map<string, StoredObject>>();
  readonly #runtimes = new Map<string, EmulatedPod>();
  readonly #starting = new Set<string>();
  readonly #history: ChangeEvent[] = [];
  /** Changes at or below this resourceVersion have left the bounded history. */
  #compactedThrough = 0;
  readonly #now: () => number;
  #ipCounter = 10;

  constructor(now: () => number) {
    super();
    this.setMaxListeners(0);
    this.#now = now;
  }

  get resourceVersion(): number {
    return this.#rv;
  }

  async seed(k: SeedKubernetes): Promise<void> {
    this.#putNode();
    for (const ns of new Set([...k.namespaces, ...k.pods.map((p) => p.namespace)])) this.ensureNamespace(ns);
    for (const p of k.pods)
      await this.addPod(p.namespace, p.name, { containers: p.containers, echoPorts: p.echoPorts, logEverySecond: p.logEverySecond, logBytes: p.logBytes });
  }

  #map(resource: string): Map<string, StoredObject> {
    let m = this.#maps.get(resource);
    if (!m) this.#maps.set(resource, (m = new Map()));
    return m;
  }

  #putNode(): void {
    const t = new Date(this.#now()).toISOString();
    this.#add({
      kind: 'Node',
      resource: '/nodes',
      name: NODE_NAME,
      object: {
        kind: 'Node',
        apiVersion: 'v1',
        metadata: { name: NODE_NAME, uid: randomUUID(), creationTimestamp: t, labels: { 'kubernetes.io/hostname': NODE_NAME, 'kubernetes.io/os': 'linux' } },
        spec: { podCIDR: '10.42.0.0/24' },
        status: {
          conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status', lastTransitionTime: t }],
          addresses: [{ type: 'InternalIP', address: '172.18.0.2' }],
          nodeInfo: {
            kubeletVersion: 'v1.31.4',
            osImage: 'emulated',
            containerRuntimeVersion: 'containerd://1.7',
            architecture: 'amd64',
            operatingSystem: 'linux',
          },
          capacity: { cpu: '2', memory: '4Gi', pods: '110' },
          allocatable: { cpu: '2', memory: '4Gi', pods: '110' },
        },
      },
    });
  }

  /** Creates the namespace if it does not exist (seeding, and pods added from tests). */
  ensureNamespace(name: string): void {
    if (this.get(NAMESPACES, undefined, name)) return;
    this.#add({
      kind: 'Namespace',
      resource: NAMESPACES,
      name,
      object: {
        kind: 'Namespace',
        apiVersion: 'v1',
        metadata: { name, uid: randomUUID(), creationTimestamp: new Date(this.#now()).toISOString(), labels: { 'kubernetes.io/metadata.name': name } },
        spec: { finalizers: ['kubernetes'] },
        status: { phase: 'Active' },
      },
    });
  }

  get(resource: string, namespace: string | undefined, name: string): StoredObject | undefined {
    return this.#maps.get(resource)?.get(keyOf(namespace, name));
  }

  /** Whether the name is taken (by an object, or a pod still starting). */
  has(resource: string, namespace: string | undefined, name: string): boolean {
    const key = keyOf(namespace, name);
    return Boolean(this.#maps.get(resource)?.has(key)) || (resource === PODS && this.#starting.has(key));
  }

  /** The objects of a resource, of one namespace or all. */
  list(resource: string, namespace?: string): StoredObject[] {
    const m = this.#maps.get(resource);
    if (!m) return [];
    const all = [...m.values()];
    return namespace === undefined ? all : all.filter((i) => i.namespace === namespace);
  }

  /** Every resource that has objects (for a namespace's deletion). */
  resources(): string[] {
    return [...this.#maps.keys()];
  }

  /**
   * Stores a new object (already stamped by the caller) and announces it. A pod starts its
   * runtime first: echo servers on its containers' ports (or `echoPorts`).
   */
  async insert(item: StoredObject, pod?: PodOptions): Promise<StoredObject> {
    if (item.resource !== PODS) return this.#add(item);
    const key = keyOf(item.namespace, item.name);
    if (this.has(PODS, item.namespace, item.name)) throw new Error(`pod ${key} exists`);
    // Held while the pod's echo servers start, so a second create of the same name fails.
    this.#starting.add(key);
    try {
      const spec: KubeObject = item.object.spec ?? {};
      const containers: KubeObject[] = spec.containers ?? [];
      const names = containers.map((c) => String(c.name));
      const ports = pod?.echoPorts ?? containers.flatMap((c) => ((c.ports ?? []) as KubeObject[]).map((p) => Number(p.containerPort)));
      const runtime = new EmulatedPod(item.namespace!, item.name, names, {
        PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
        HOSTNAME: item.name,
        KUBERNETES_SERVICE_HOST: '10.43.0.1',
        KUBERNETES_SERVICE_PORT: '443',
        POD_NAMESPACE: item.namespace!,
      });
      await runtime.start(ports, Boolean(pod?.logEverySecond), this.#now, pod?.logBytes);
      this.#runtimes.set(key, runtime);
      return this.#add(item);
    } finally {
      this.#starting.delete(key);
    }
  }

  /** A pod as the kubelet would run it: scheduled to the node, Running, the images it was given. */
  runningPod(spec: KubeObject): { spec: KubeObject; status: KubeObject } {
    const ip = `10.42.0.${this.#ipCounter++ % 250}`;
    const started = new Date(this.#now()).toISOString();
    const full = { restartPolicy: 'Always', serviceAccountName: 'default', ...spec, nodeName: spec.nodeName ?? NODE_NAME };
    return { spec: full, status: runningPodStatus(full, ip, started) };
  }

  /** Adds a running pod from the seed or a test (watchers see ADDED). */
  async addPod(namespace: string, name: string, opts: PodOptions = {}): Promise<StoredObject> {
    this.ensureNamespace(namespace);
    const containers = opts.containers?.length ? opts.containers : ['main'];
    const ports = opts.echoPorts ?? [8080];
    const { spec, status } = this.runningPod({
      containers: containers.map((c) => ({ name: c, image: SEED_IMAGE, ports: ports.map((p) => ({ containerPort: p, protocol: 'TCP' })) })),
    });
    const object: KubeObject = {
      kind: 'Pod',
      apiVersion: 'v1',
      metadata: {
        name,
        namespace,
        uid: randomUUID(),
        creationTimestamp: status.startTime,
        labels: opts.labels ?? { app: name.replace(/-\d+$/, '') },
      },
      spec,
      status,
    };
    return this.insert({ kind: 'Pod', resource: PODS, namespace, name, object }, { ...opts, echoPorts: ports });
  }

  #add(item: StoredObject): StoredObject {
    this.#map(item.resource).set(keyOf(item.namespace, item.name), item);
    this.#record('ADDED', item);
    return item;
  }

  /** Replaces a stored object with a new version of it (MODIFIED). */
  replace(item: StoredObject, object: KubeObject): StoredObject {
    const next: StoredObject = { ...item, object };
    this.#map(item.resource).set(keyOf(item.namespace, item.name), next);
    this.#record('MODIFIED', next);
    return next;
  }

  /** Removes an object (DELETED); a pod's runtime stops. */
  remove(resource: string, namespace: string | undefined, name: string): StoredObject | undefined {
    const key = keyOf(namespace, name);
    const m = this.#maps.get(resource);
    const item = m?.get(key);
    if (!item) return undefined;
    m!.delete(key);
    if (resource === PODS) {
      const runtime = this.#runtimes.get(key);
      this.#runtimes.delete(key);
      void runtime?.stop();
    }
    const gone: StoredObject = {
      ...item,
      object: { ...item.object, metadata: { ...item.object.metadata, deletionTimestamp: new Date(this.#now()).toISOString() } },
    };
    this.#record('DELETED', gone);
    return gone;
  }

  deletePod(namespace: string, name: string): StoredObject | undefined {
    return this.remove(PODS, namespace, name);
  }

  #record(type: WatchEventType, item: StoredObject): void {
    const resourceVersion = ++this.#rv;
    item.object = { ...item.object, metadata: { ...item.object.metadata, resourceVersion: String(resourceVersion) } };
    const event = { type, resourceVersion, item };
    this.#history.push(event);
    if (this.#history.length > HISTORY_LIMIT) this.#compactedThrough = this.#history.shift()!.resourceVersion;
    this.emit('change', event);
  }

  /** Changes after `resourceVersion`, oldest first (for a watch that starts from a list). */
  changesSince(resourceVersion: number): ChangeEvent[] {
    return this.#history.filter((e) => e.resourceVersion > resourceVersion);
  }

  /** Whether a watch from `resourceVersion` can no longer be served (410 Expired). */
  isCompacted(resourceVersion: number): boolean {
    return resourceVersion < this.#compactedThrough;
  }

  pods(namespace?: string): StoredObject[] {
    return this.list(PODS, namespace);
  }

  pod(namespace: string, name: string): StoredObject | undefined {
    return this.get(PODS, namespace, name);
  }

  runtime(namespace: string, name: string): EmulatedPod | undefined {
    return this.#runtimes.get(`${namespace}/${name}`);
  }

  namespace(name: string): StoredObject | undefined {
    return this.get(NAMESPACES, undefined, name);
  }

  async close(): Promise<void> {
    await Promise.all([...this.#runtimes.values()].map((r) => r.stop()));
    this.#runtimes.clear();
  }
}
