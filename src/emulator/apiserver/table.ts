/** Server-side printing: the `Table` kubectl asks for with `as=Table;v=v1;g=meta.k8s.io`. */
import type { StoredObject } from './store.js';

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

function cells(item: StoredObject, now: number): unknown[] {
  const o = item.object;
  const age = humanAge(now - Date.parse(o.metadata.creationTimestamp));
  if (item.kind === 'Namespace') return [item.name, o.status.phase, age];
  const statuses: { ready: boolean; restartCount: number }[] = o.status.containerStatuses ?? [];
  const ready = statuses.filter((c) => c.ready).length;
  const status = o.metadata.deletionTimestamp ? 'Terminating' : o.status.phase;
  return [
    item.name,
    `${ready}/${statuses.length}`,
    status,
    String(statuses.reduce((n, c) => n + c.restartCount, 0)),
    age,
    o.status.podIP ?? '<none>',
    o.spec.nodeName ?? '<none>',
    '<none>',
    '<none>',
  ];
}

function rowObject(item: StoredObject, includeObject: string): unknown {
  if (includeObject === 'None') return undefined;
  if (includeObject === 'Object') return item.object;
  return { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: item.object.metadata };
}

export function toTable(
  items: StoredObject[],
  kind: 'Pod' | 'Namespace',
  resourceVersion: number,
  now: number,
  includeObject = 'Metadata',
): Record<string, unknown> {
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: { resourceVersion: String(resourceVersion) },
    columnDefinitions: kind === 'Pod' ? POD_COLUMNS : NAMESPACE_COLUMNS,
    rows: items.map((item) => ({ cells: cells(item, now), object: rowObject(item, includeObject) })),
  };
}
