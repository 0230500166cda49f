/**
 * The one table of what the emulated apiserver serves: every built-in resource as a row (group,
 * version, plural, kind, scope, short names, subresources), plus the kinds CustomResourceDefinitions
 * add while it runs. Routing, discovery, RBAC, the store and Table output all read it.
 */

export interface ResourceDef {
  /** "" for the core group. */
  group: string;
  version: string;
  /** Plural, as in the path: "deployments". */
  resource: string;
  singular: string;
  kind: string;
  namespaced: boolean;
  shortNames?: string[];
  categories?: string[];
  /** Only get, list and watch (nodes). */
  readOnly?: boolean;
  /** Has a status subresource whose writes leave spec alone, and a spec whose changes bump metadata.generation. */
  status?: boolean;
  /** Has the /scale subresource (autoscaling/v1 Scale). */
  scale?: boolean;
  /** Added by a CustomResourceDefinition (merge patches, not strategic ones). */
  custom?: boolean;
}

const ALL = ['all'];

function row(group: string, version: string, resource: string, kind: string, namespaced: boolean, extra: Partial<ResourceDef> = {}): ResourceDef {
  return { group, version, resource, kind, namespaced, singular: kind.toLowerCase(), ...extra };
}

const BUILTIN_RESOURCES: readonly ResourceDef[] = [
  row('', 'v1', 'namespaces', 'Namespace', false, { shortNames: ['ns'] }),
  row('', 'v1', 'pods', 'Pod', true, { shortNames: ['po'], categories: ALL, status: true }),
  row('', 'v1', 'configmaps', 'ConfigMap', true, { shortNames: ['cm'] }),
  row('', 'v1', 'secrets', 'Secret', true),
  row('', 'v1', 'services', 'Service', true, { shortNames: ['svc'], categories: ALL, status: true }),
  row('', 'v1', 'serviceaccounts', 'ServiceAccount', true, { shortNames: ['sa'] }),
  row('', 'v1', 'endpoints', 'Endpoints', true, { shortNames: ['ep'], singular: 'endpoints' }),
  row('', 'v1', 'events', 'Event', true, { shortNames: ['ev'] }),
  row('', 'v1', 'persistentvolumeclaims', 'PersistentVolumeClaim', true, { shortNames: ['pvc'], status: true }),
  row('', 'v1', 'nodes', 'Node', false, { shortNames: ['no'], readOnly: true }),
  row('apps', 'v1', 'deployments', 'Deployment', true, { shortNames: ['deploy'], categories: ALL, status: true, scale: true }),
  row('apps', 'v1', 'statefulsets', 'StatefulSet', true, { shortNames: ['sts'], categories: ALL, status: true, scale: true }),
  row('apps', 'v1', 'daemonsets', 'DaemonSet', true, { shortNames: ['ds'], categories: ALL, status: true }),
  row('apps', 'v1', 'replicasets', 'ReplicaSet', true, { shortNames: ['rs'], categories: ALL, status: true, scale: true }),
  row('batch', 'v1', 'jobs', 'Job', true, { categories: ALL, status: true }),
  row('batch', 'v1', 'cronjobs', 'CronJob', true, { shortNames: ['cj'], categories: ALL, status: true }),
  row('networking.k8s.io', 'v1', 'ingresses', 'Ingress', true, { shortNames: ['ing'], status: true }),
  row('rbac.authorization.k8s.io', 'v1', 'roles', 'Role', true),
  row('rbac.authorization.k8s.io', 'v1', 'rolebindings', 'RoleBinding', true),
  row('rbac.authorization.k8s.io', 'v1', 'clusterroles', 'ClusterRole', false),
  row('rbac.authorization.k8s.io', 'v1', 'clusterrolebindings', 'ClusterRoleBinding', false),
  row('policy', 'v1', 'poddisruptionbudgets', 'PodDisruptionBudget', true, { shortNames: ['pdb'], status: true }),
  row('coordination.k8s.io', 'v1', 'leases', 'Lease', true),
  row('apiextensions.k8s.io', 'v1', 'customresourcedefinitions', 'CustomResourceDefinition', false, { shortNames: ['crd', 'crds'], status: true }),
];

/** `apps/v1`, or `v1` for the core group. */
export function apiVersionOf(def: Pick<ResourceDef, 'group' | 'version'>): string {
  return def.group ? `${def.group}/${def.version}` : def.version;
}

/** The key of a resource across versions: `apps/deployments`, `/pods`. */
export function resourceKey(group: string, resource: string): string {
  return `${group}/${resource}`;
}

interface CrdSpec {
  group?: string;
  names?: { plural?: string; singular?: string; kind?: string; shortNames?: string[]; categories?: string[] };
  scope?: string;
  versions?: { name?: string; served?: boolean; storage?: boolean; subresources?: { status?: unknown; scale?: unknown } }[];
}

/** The resource rows a CustomResourceDefinition serves (one per served version). */
export function crdResources(spec: CrdSpec): ResourceDef[] {
  const names = spec.names ?? {};
  if (!spec.group || !names.plural || !names.kind) return [];
  // The storage version first: it is the group's preferred version.
  const versions = [...(spec.versions ?? [])]
    .filter((v) => v.served !== false && v.name)
    .sort((a, b) => Number(Boolean(b.storage)) - Number(Boolean(a.storage)));
  return versions.map((v) => ({
    group: spec.group!,
    version: v.name!,
    resource: names.plural!,
    singular: names.singular ?? names.kind!.toLowerCase(),
    kind: names.kind!,
    namespaced: spec.scope !== 'Cluster',
    ...(names.shortNames?.length ? { shortNames: names.shortNames } : {}),
    ...(names.categories?.length ? { categories: names.categories } : {}),
    ...(v.subresources?.status ? { status: true } : {}),
    custom: true,
  }));
}

/** The built-in rows and those of the CRDs that exist now. */
export class ResourceRegistry {
  readonly #byPath = new Map<string, ResourceDef>();
  readonly #custom = new Map<string, ResourceDef[]>();

  constructor() {
    for (const def of BUILTIN_RESOURCES) this.#byPath.set(`${def.group}/${def.version}/${def.resource}`, def);
  }

  /** The resource at /apis/{group}/{version}/{resource}. */
  lookup(group: string, version: string, resource: string): ResourceDef | undefined {
    return this.#byPath.get(`${group}/${version}/${resource}`);
  }

  /** Every served row, built-ins first. */
  all(): ResourceDef[] {
    return [...this.#byPath.values()];
  }

  /** Serves (or stops serving, with no rows) the kinds of the CRD with this name. */
  setCustom(crdName: string, defs: ResourceDef[]): void {
    for (const old of this.#custom.get(crdName) ?? []) this.#byPath.delete(`${old.group}/${old.version}/${old.resource}`);
    this.#custom.delete(crdName);
    if (defs.length === 0) return;
    this.#custom.set(crdName, defs);
    for (const def of defs) this.#byPath.set(`${def.group}/${def.version}/${def.resource}`, def);
  }
}
