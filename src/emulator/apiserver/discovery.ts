/** /version and legacy discovery documents, from the resource table: what kubectl maps kinds to resources with. */
import type { SeedKubernetes } from '../seed.js';
import type { ResourceDef, ResourceRegistry } from './resource-table.js';

export function versionInfo(k: SeedKubernetes): Record<string, string> {
  return {
    major: k.version.major,
    minor: k.version.minor,
    gitVersion: k.version.gitVersion,
    gitCommit: '0000000000000000000000000000000000000000',
    gitTreeState: 'clean',
    buildDate: '2026-01-01T00:00:00Z',
    goVersion: 'go1.23.4',
    compiler: 'gc',
    platform: 'linux/amd64',
  };
}

const WRITE_VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];
const READ_VERBS = ['get', 'list', 'watch'];

const POD_SUBRESOURCES = [
  { name: 'pods/attach', singularName: '', namespaced: true, kind: 'PodAttachOptions', verbs: ['create', 'get'] },
  { name: 'pods/exec', singularName: '', namespaced: true, kind: 'PodExecOptions', verbs: ['create', 'get'] },
  { name: 'pods/log', singularName: '', namespaced: true, kind: 'Pod', verbs: ['get'] },
  { name: 'pods/portforward', singularName: '', namespaced: true, kind: 'PodPortForwardOptions', verbs: ['create', 'get'] },
];

/** The review APIs: groups beside the resource table, served by reviews.ts. */
const REVIEW_GROUPS: Record<string, { versions: string[]; resources: object[] }> = {
  'authentication.k8s.io': {
    versions: ['v1', 'v1beta1', 'v1alpha1'],
    resources: [
      { name: 'selfsubjectreviews', singularName: 'selfsubjectreview', namespaced: false, kind: 'SelfSubjectReview', verbs: ['create'] },
      { name: 'tokenreviews', singularName: 'tokenreview', namespaced: false, kind: 'TokenReview', verbs: ['create'] },
    ],
  },
  'authorization.k8s.io': {
    versions: ['v1'],
    resources: [
      { name: 'selfsubjectaccessreviews', singularName: 'selfsubjectaccessreview', namespaced: false, kind: 'SelfSubjectAccessReview', verbs: ['create'] },
      { name: 'selfsubjectrulesreviews', singularName: 'selfsubjectrulesreview', namespaced: false, kind: 'SelfSubjectRulesReview', verbs: ['create'] },
      { name: 'subjectaccessreviews', singularName: 'subjectaccessreview', namespaced: false, kind: 'SubjectAccessReview', verbs: ['create'] },
    ],
  },
};

/** APIResource entries of one row: the resource, then its subresources. */
function apiResources(def: ResourceDef): object[] {
  const verbs = def.readOnly ? READ_VERBS : def.kind === 'Namespace' ? WRITE_VERBS.filter((v) => v !== 'deletecollection') : WRITE_VERBS;
  const out: object[] = [
    {
      name: def.resource,
      singularName: def.singular,
      namespaced: def.namespaced,
      kind: def.kind,
      verbs,
      ...(def.shortNames ? { shortNames: def.shortNames } : {}),
      ...(def.categories ? { categories: def.categories } : {}),
    },
  ];
  if (def.kind === 'Pod') out.push(...POD_SUBRESOURCES);
  if (def.status) out.push({ name: `${def.resource}/status`, singularName: '', namespaced: def.namespaced, kind: def.kind, verbs: ['get', 'patch', 'update'] });
  if (def.scale) {
    out.push({
      name: `${def.resource}/scale`,
      singularName: '',
      namespaced: def.namespaced,
      group: 'autoscaling',
      version: 'v1',
      kind: 'Scale',
      verbs: ['get', 'patch', 'update'],
    });
  }
  return out;
}

/** Discovery documents of what the resource table serves now (CRDs included). */
export class Discovery {
  readonly #registry: ResourceRegistry;

  constructor(registry: ResourceRegistry) {
    this.#registry = registry;
  }

  /** Groups (core left out) with their versions, the preferred one first. */
  #groups(): Map<string, { versions: string[]; resources: Map<string, object[]> }> {
    const groups = new Map<string, { versions: string[]; resources: Map<string, object[]> }>();
    for (const def of this.#registry.all()) {
      if (!def.group) continue;
      let g = groups.get(def.group);
      if (!g) groups.set(def.group, (g = { versions: [], resources: new Map() }));
      if (!g.versions.includes(def.version)) g.versions.push(def.version);
      g.resources.set(def.version, [...(g.resources.get(def.version) ?? []), ...apiResources(def)]);
    }
    for (const [name, r] of Object.entries(REVIEW_GROUPS))
      groups.set(name, { versions: r.versions, resources: new Map(r.versions.map((v) => [v, reviewResources(name, v)])) });
    return groups;
  }

  coreResourceList(): Record<string, unknown> {
    return {
      kind: 'APIResourceList',
      groupVersion: 'v1',
      resources: this.#registry
        .all()
        .filter((d) => d.group === '')
        .flatMap(apiResources),
    };
  }

  groupList(): Record<string, unknown> {
    return { kind: 'APIGroupList', apiVersion: 'v1', groups: [...this.#groups()].map(([name, g]) => groupDoc(name, g.versions)) };
  }

  group(name: string): Record<string, unknown> | undefined {
    const g = this.#groups().get(name);
    return g ? { kind: 'APIGroup', apiVersion: 'v1', ...groupDoc(name, g.versions) } : undefined;
  }

  groupResourceList(name: string, version: string): Record<string, unknown> | undefined {
    const resources = this.#groups().get(name)?.resources.get(version);
    if (!resources) return undefined;
    return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: `${name}/${version}`, resources };
  }
}

function reviewResources(name: string, version: string): object[] {
  const g = REVIEW_GROUPS[name]!;
  return name === 'authentication.k8s.io' && version !== 'v1' ? g.resources.filter((r) => (r as { name: string }).name === 'selfsubjectreviews') : g.resources;
}

function groupDoc(name: string, versions: string[]): Record<string, unknown> {
  return {
    name,
    versions: versions.map((v) => ({ groupVersion: `${name}/${v}`, version: v })),
    preferredVersion: { groupVersion: `${name}/${versions[0]}`, version: versions[0] },
  };
}

export function apiVersions(serverAddress: string): Record<string, unknown> {
  return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }] };
}
