/** /version and legacy discovery documents: enough for kubectl to map pods, namespaces and the auth APIs. */
import type { SeedKubernetes } from '../seed.js';

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

const POD_VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

const CORE_RESOURCES = [
  {
    name: 'namespaces',
    singularName: 'namespace',
    namespaced: false,
    kind: 'Namespace',
    verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
    shortNames: ['ns'],
  },
  { name: 'pods', singularName: 'pod', namespaced: true, kind: 'Pod', verbs: POD_VERBS, shortNames: ['po'], categories: ['all'] },
  { name: 'pods/attach', singularName: '', namespaced: true, kind: 'PodAttachOptions', verbs: ['create', 'get'] },
  { name: 'pods/exec', singularName: '', namespaced: true, kind: 'PodExecOptions', verbs: ['create', 'get'] },
  { name: 'pods/log', singularName: '', namespaced: true, kind: 'Pod', verbs: ['get'] },
  { name: 'pods/portforward', singularName: '', namespaced: true, kind: 'PodPortForwardOptions', verbs: ['create', 'get'] },
  { name: 'pods/status', singularName: '', namespaced: true, kind: 'Pod', verbs: ['get', 'patch', 'update'] },
];

/** API groups and their versions (the newest first). */
export const GROUPS: Record<string, { versions: string[]; resources: object[] }> = {
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

export function apiVersions(serverAddress: string): Record<string, unknown> {
  return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }] };
}

export function coreResourceList(): Record<string, unknown> {
  return { kind: 'APIResourceList', groupVersion: 'v1', resources: CORE_RESOURCES };
}

export function groupList(): Record<string, unknown> {
  return {
    kind: 'APIGroupList',
    apiVersion: 'v1',
    groups: Object.entries(GROUPS).map(([name, g]) => ({
      name,
      versions: g.versions.map((v) => ({ groupVersion: `${name}/${v}`, version: v })),
      preferredVersion: { groupVersion: `${name}/${g.versions[0]}`, version: g.versions[0] },
    })),
  };
}

export function group(name: string): Record<string, unknown> | undefined {
  const g = GROUPS[name];
  if (!g) return undefined;
  return {
    kind: 'APIGroup',
    apiVersion: 'v1',
    name,
    versions: g.versions.map((v) => ({ groupVersion: `${name}/${v}`, version: v })),
    preferredVersion: { groupVersion: `${name}/${g.versions[0]}`, version: g.versions[0] },
  };
}

export function groupResourceList(name: string, version: string): Record<string, unknown> | undefined {
  const g = GROUPS[name];
  if (!g || !g.versions.includes(version)) return undefined;
  const resources =
    name === 'authentication.k8s.io' && version !== 'v1' ? g.resources.filter((r) => (r as { name: string }).name === 'selfsubjectreviews') : g.resources;
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: `${name}/${version}`, resources };
}
