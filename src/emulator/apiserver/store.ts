/**
 * The apiserver's objects: namespaces and pods, a resourceVersion that increases with every
 * change, and watch events for each change.
 */
import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import type { SeedKubernetes } from '../seed.js';
import { EmulatedPod } from './pod-runtime.js';
import type { KubeObject } from './types.js';

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface StoredObject {
  kind: 'Pod' | 'Namespace';
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

const NODE = 'emulated-node-0';
/** Watch events kept for watches that resume from a resourceVersion. */
const HISTORY_LIMIT = 5000;

export class ObjectStore extends EventEmitter {
  #rv = 100;
  readonly #pods = new Map<string, StoredObject>();
  readonly #namespaces = new Map<string, StoredObject>();
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
    for (const ns of new Set([...k.namespaces, ...k.pods.map((p) => p.namespace)])) this.#putNamespace(ns);
    for (const p of k.pods)
      await this.addPod(p.namespace, p.name, { containers: p.containers, echoPorts: p.echoPorts, logEverySecond: p.logEverySecond, logBytes: p.logBytes });
  }

  #putNamespace(name: string): void {
    if (this.#namespaces.has(name)) return;
    const object = {
      kind: 'Namespace',
      apiVersion: 'v1',
      metadata: {
        name,
        uid: randomUUID(),
        resourceVersion: String(++this.#rv),
        creationTimestamp: new Date(this.#now()).toISOString(),
        labels: { 'kubernetes.io/metadata.name': name },
      },
      spec: { finalizers: ['kubernetes'] },
      status: { phase: 'Active' },
    };
    const item: StoredObject = { kind: 'Namespace', name, object };
    this.#namespaces.set(name, item);
    this.#record('ADDED', item);
  }

  async addPod(namespace: string, name: string, opts: PodOptions = {}): Promise<StoredObject> {
    this.#putNamespace(namespace);
    const key = `${namespace}/${name}`;
    if (this.#pods.has(key) || this.#starting.has(key)) throw new Error(`pod ${key} exists`);
    // Held while the pod's echo servers start, so a second create of the same name fails.
    this.#starting.add(key);
    try {
      return await this.#startPod(namespace, name, key, opts);
    } finally {
      this.#starting.delete(key);
    }
  }

  async #startPod(namespace: string, name: string, key: string, opts: PodOptions): Promise<StoredObject> {
    const containers = opts.containers?.length ? opts.containers : ['main'];
    const ports = opts.echoPorts ?? [8080];
    const ip = `10.42.0.${this.#ipCounter++ % 250}`;
    const started = new Date(this.#now()).toISOString();
    const object = {
      kind: 'Pod',
      apiVersion: 'v1',
      metadata: {
        name,
        namespace,
        uid: randomUUID(),
        resourceVersion: '',
        creationTimestamp: started,
        labels: opts.labels ?? { app: name.replace(/-\d+$/, '') },
      },
      spec: {
        containers: containers.map((c) => ({
          name: c,
          image: 'registry.k8s.io/e2e-test-images/agnhost:2.47',
          ports: ports.map((p) => ({ containerPort: p, protocol: 'TCP' })),
        })),
        nodeName: NODE,
        restartPolicy: 'Always',
        serviceAccountName: 'default',
      },
      status: {
        phase: 'Running',
        conditions: ['Initialized', 'Ready', 'ContainersReady', 'PodScheduled'].map((type) => ({ type, status: 'True', lastTransitionTime: started })),
        hostIP: '172.18.0.2',
        podIP: ip,
        podIPs: [{ ip }],
        startTime: started,
        containerStatuses: containers.map((c) => ({
          name: c,
          ready: true,
          started: true,
          restartCount: 0,
          image: 'registry.k8s.io/e2e-test-images/agnhost:2.47',
          imageID: 'registry.k8s.io/e2e-test-images/agnhost@sha256:0',
          containerID: `containerd://${randomUUID().replace(/-/g, '')}`,
          state: { running: { startedAt: started } },
        })),
        qosClass: 'BestEffort',
      },
    };
    const runtime = new EmulatedPod(namespace, name, containers, {
      PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      HOSTNAME: name,
      KUBERNETES_SERVICE_HOST: '10.43.0.1',
      KUBERNETES_SERVICE_PORT: '443',
      POD_NAMESPACE: namespace,
    });
    await runtime.start(ports, Boolean(opts.logEverySecond), this.#now, opts.logBytes);
    this.#runtimes.set(key, runtime);
    const item: StoredObject = { kind: 'Pod', namespace, name, object };
    this.#pods.set(key, item);
    this.#record('ADDED', item);
    return item;
  }

  deletePod(namespace: string, name: string): StoredObject | undefined {
    const key = `${namespace}/${name}`;
    const item = this.#pods.get(key);
    if (!item) return undefined;
    this.#pods.delete(key);
    const runtime = this.#runtimes.get(key);
    this.#runtimes.delete(key);
    void runtime?.stop();
    item.object.metadata.deletionTimestamp = new Date(this.#now()).toISOString();
    this.#record('DELETED', item);
    return item;
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
    return [...this.#pods.values()].filter((p) => namespace === undefined || p.namespace === namespace);
  }

  pod(namespace: string, name: string): StoredObject | undefined {
    return this.#pods.get(`${namespace}/${name}`);
  }

  /** Whether the name is taken (by a pod or one still starting). */
  hasPod(namespace: string, name: string): boolean {
    const key = `${namespace}/${name}`;
    return this.#pods.has(key) || this.#starting.has(key);
  }

  runtime(namespace: string, name: string): EmulatedPod | undefined {
    return this.#runtimes.get(`${namespace}/${name}`);
  }

  namespaces(): StoredObject[] {
    return [...this.#namespaces.values()];
  }

  namespace(name: string): StoredObject | undefined {
    return this.#namespaces.get(name);
  }

  async close(): Promise<void> {
    await Promise.all([...this.#runtimes.values()].map((r) => r.stop()));
    this.#runtimes.clear();
  }
}
