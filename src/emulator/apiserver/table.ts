/** Server-side printing: the `Table` kubectl asks for with `as=Table;v=v1;g=meta.k8s.io`. */
import type { StoredObject } from './store.js';
import type { KubeObject } from './types.js';

export function wantsTable(accept: string | undefined): boolean {
  return /as=Table/.test(accept ?? '');
}

/** Kubernetes' short duration format (5s, 3m12s, 2d4h...). */
export function humanAge(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 10) return `${m}m${s % 60 ? `${s % 60}s` : ''}`;
  if (m < 180) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 8) return `${h}h${m % 60 ? `${m % 60}m` : ''}`;
  if (h < 48) return `${h}h`;
  const d = Math.floor(h / 24);
  if (d < 8) return `${d}d${h % 24 ? `${h % 24}h` : ''}`;
  return `${d}d`;
}

const col = (name: string, type: string, description: string, priority = 0, format = '') => ({ name, type, format, description, priority });

const POD_COLUMNS = [
  col('Name', 'string', 'Name must be unique within a namespace.', 0, 'name'),
  col('Ready', 'string', 'The aggregate readiness state of this pod for accepting traffic.'),
  col('Status', 'string', 'The aggregate status of the containers in this pod.'),
  col('Restarts', 'string', 'The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.'),
  col('Age', 'string', 'CreationTimestamp is a timestamp representing the server time when this object was created.'),
  col('IP', 'string', 'IP address allocated to the pod.', 1),
  col('Node', 'string', 'Name of the Node this pod has been scheduled on.', 1),
  col('Nominated Node', 'string', 'Nominated node name.', 1),
  col('Readiness Gates', 'string', 'Readiness gates of the pod.', 1),
];

const NAMESPACE_COLUMNS = [
  col('Name', 'string', 'Name must be unique within a namespace.', 0, 'name'),
  col('Status', 'string', 'The status of the namespace'),
  col('Age', 'string', 'CreationTimestamp is a timestamp representing the server time when this object was created.'),
];

const AGE = col('Age', 'string', 'CreationTimestamp is a timestamp representing the server time when this object was created.');
const NAME = col('Name', 'string', 'Name must be unique within a namespace.', 0, 'name');

type Cells = (o: KubeObject, age: string) => unknown[];

const count = (v: unknown) => (v && typeof v === 'object' ? Object.keys(v).length : 0);
const ports = (list: KubeObject[] | undefined) => (list?.length ? list.map((p) => `${p.port}/${p.protocol ?? 'TCP'}`).join(',') : '<none>');

/** The kubectl columns of the kinds pipelines look at; any other kind gets Name and Age. */
const PRINTERS: Record<string, { columns: unknown[]; cells: Cells }> = {
  Namespace: { columns: NAMESPACE_COLUMNS, cells: (o, age) => [o.metadata.name, o.status?.phase, age] },
  Pod: {
    columns: POD_COLUMNS,
    cells: (o, age) => {
      const statuses: { ready: boolean; restartCount: number }[] = o.status?.containerStatuses ?? [];
      return [
        o.metadata.name,
        `${statuses.filter((c) => c.ready).length}/${statuses.length}`,
        o.metadata.deletionTimestamp ? 'Terminating' : o.status?.phase,
        String(statuses.reduce((n, c) => n + c.restartCount, 0)),
        age,
        o.status?.podIP ?? '<none>',
        o.spec?.nodeName ?? '<none>',
        '<none>',
        '<none>',
      ];
    },
  },
  Deployment: {
    columns: [
      NAME,
      col('Ready', 'string', 'Number of the pod with ready state'),
      col('Up-to-date', 'string', 'Total number of non-terminated pods targeted by this deployment that have the desired template spec.'),
      col('Available', 'string', 'Total number of available pods (ready for at least minReadySeconds) targeted by this deployment.'),
      AGE,
    ],
    cells: (o, age) => [
      o.metadata.name,
      `${o.status?.readyReplicas ?? 0}/${o.spec?.replicas ?? 0}`,
      o.status?.updatedReplicas ?? 0,
      o.status?.availableReplicas ?? 0,
      age,
    ],
  },
  ReplicaSet: {
    columns: [
      NAME,
      col('Desired', 'integer', 'Replicas is the number of desired replicas.'),
      col('Current', 'integer', 'Replicas is the most recently observed number of replicas.'),
      col('Ready', 'integer', 'The number of ready replicas for this replica set.'),
      AGE,
    ],
    cells: (o, age) => [o.metadata.name, o.spec?.replicas ?? 0, o.status?.replicas ?? 0, o.status?.readyReplicas ?? 0, age],
  },
  StatefulSet: {
    columns: [NAME, col('Ready', 'string', 'Number of the pod with ready state'), AGE],
    cells: (o, age) => [o.metadata.name, `${o.status?.readyReplicas ?? 0}/${o.spec?.replicas ?? 0}`, age],
  },
  Service: {
    columns: [
      NAME,
      col('Type', 'string', 'type determines how the Service is exposed.'),
      col('Cluster-IP', 'string', 'clusterIP is the IP address of the service.'),
      col('External-IP', 'string', 'List of IP addresses for which nodes in the cluster will also accept traffic for this service.'),
      col('Port(s)', 'string', 'The list of ports that are exposed by this service.'),
      AGE,
    ],
    cells: (o, age) => [o.metadata.name, o.spec?.type ?? 'ClusterIP', o.spec?.clusterIP ?? '<none>', '<none>', ports(o.spec?.ports), age],
  },
  ConfigMap: {
    columns: [NAME, col('Data', 'string', 'Data contains the configuration data.'), AGE],
    cells: (o, age) => [o.metadata.name, count(o.data) + count(o.binaryData), age],
  },
  Secret: {
    columns: [
      NAME,
      col('Type', 'string', 'Used to facilitate programmatic handling of secret data.'),
      col('Data', 'string', 'Data contains the secret data.'),
      AGE,
    ],
    cells: (o, age) => [o.metadata.name, o.type ?? 'Opaque', count(o.data), age],
  },
  Node: {
    columns: [
      NAME,
      col('Status', 'string', 'The status of the node'),
      col('Roles', 'string', 'The roles of the node'),
      AGE,
      col('Version', 'string', 'Kubelet Version reported by the node.'),
    ],
    cells: (o, age) => [
      o.metadata.name,
      ((o.status?.conditions ?? []) as KubeObject[]).some((c) => c.type === 'Ready' && c.status === 'True') ? 'Ready' : 'NotReady',
      '<none>',
      age,
      o.status?.nodeInfo?.kubeletVersion ?? '',
    ],
  },
  Job: {
    columns: [
      NAME,
      col('Status', 'string', 'Status of the job.'),
      col('Completions', 'string', 'The desired number of successfully finished pods the job should be run with.'),
      AGE,
    ],
    cells: (o, age) => [o.metadata.name, o.status?.succeeded ? 'Complete' : 'Running', `${o.status?.succeeded ?? 0}/${o.spec?.completions ?? 1}`, age],
  },
};

const GENERIC = { columns: [NAME, AGE], cells: ((o, age) => [o.metadata.name, age]) as Cells };

function cells(item: StoredObject, now: number): unknown[] {
  const o = item.object;
  const age = humanAge(now - Date.parse(o.metadata.creationTimestamp));
  return (PRINTERS[item.kind] ?? GENERIC).cells(o, age);
}

function rowObject(item: StoredObject, includeObject: string): unknown {
  if (includeObject === 'None') return undefined;
  if (includeObject === 'Object') return item.object;
  return { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: item.object.metadata };
}

export function toTable(items: StoredObject[], kind: string, resourceVersion: number, now: number, includeObject = 'Metadata'): Record<string, unknown> {
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: { resourceVersion: String(resourceVersion) },
    columnDefinitions: (PRINTERS[kind] ?? GENERIC).columns,
    rows: items.map((item) => ({ cells: cells(item, now), object: rowObject(item, includeObject) })),
  };
}
