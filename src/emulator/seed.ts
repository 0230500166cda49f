/**
 * The emulator's world: tenants, principals, role assignments, connected clusters and what runs
 * inside them. A built-in default serves the demo and the tests; `--seed FILE` (YAML, same shape)
 * replaces it. Every emulator module takes the part of this model it needs.
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { UsageError } from '../errors/index.js';
import { GENERATED_LOG_MAX_BYTES } from './apiserver/generated-log.js';

export interface SeedPrincipal {
  /** A label used by the seed and the env file (e.g. "ci", "noaccess"). */
  name: string;
  kind: 'servicePrincipal' | 'user';
  /** Application (client) id: service principals sign in with it. */
  clientId?: string;
  clientSecret?: string;
  /**
   * The public certificate (PEM) of a certificate credential: the principal may sign in with a
   * client assertion signed by its private key and naming it by `x5t#S256` or `x5t` (RS256/PS256).
   */
  clientCertificate?: string;
  /**
   * A managed identity (a service principal without credentials of its own): the emulated host
   * identity endpoint (App Service's IDENTITY_ENDPOINT) hands out its tokens; the first one is
   * the system-assigned identity, any of them may be asked for by client id.
   */
  managedIdentity?: boolean;
  /** User principal name, for users (device-code sign-in). */
  upn?: string;
  objectId: string;
  /** Entra group object ids the principal belongs to (more than 200 yields an overage claim). */
  groups?: string[];
}

export interface SeedRoleAssignment {
  /** Object id of the principal. */
  principalId: string;
  /** Role definition name, e.g. "Azure Arc Enabled Kubernetes Cluster User Role". */
  role: string;
  /** ARM scope: /subscriptions/{s}, a resource group, or a connected cluster id. */
  scope: string;
}

export interface SeedServiceAccount {
  namespace: string;
  name: string;
  token: string;
}

export interface SeedBinding {
  /** "cluster-admin" (everything), "view" (get/list/watch) or "none". */
  role: 'cluster-admin' | 'view' | 'none';
  /** Kubernetes user names (for Entra: object ids) and groups bound to the role. */
  users?: string[];
  groups?: string[];
  /** "namespace:name" service accounts bound to the role. */
  serviceAccounts?: string[];
}

export interface SeedPod {
  namespace: string;
  name: string;
  /** Writes "<iso time> hello from <pod> line <n>" every second while running. */
  logEverySecond?: boolean;
  /**
   * The container's log is this many bytes of generated lines instead of the start-up lines:
   * "line 000000001 xxx…x\n", 100 bytes each (the last one shorter if the size says so, still
   * ending in a newline). Made as it is sent, so any size costs no memory (throughput tests).
   */
  logBytes?: number;
  /** Ports whose in-process server echoes what it receives. */
  echoPorts?: number[];
  containers?: string[];
}

export interface SeedKubernetes {
  version: { major: string; minor: string; gitVersion: string };
  namespaces: string[];
  serviceAccounts: SeedServiceAccount[];
  bindings: SeedBinding[];
  pods: SeedPod[];
}

export interface SeedCluster {
  name: string;
  location: string;
  connectivityStatus: 'Connecting' | 'Connected' | 'Offline' | 'Expired';
  agentVersion: string;
  distribution: string;
  /** Whether an agent runs for this cluster (and so a small apiserver behind it). */
  agent: boolean;
  /**
   * kube-aad-proxy's `enforcePoP`: the agent accepts Entra callers only with a proof-of-possession
   * token (a signed HTTP request) and refuses plain Entra bearer tokens with 401. Left out, the
   * cluster follows ENFORCE_POP_DEFAULT (read it through `enforcesPoP()`).
   */
  enforcePoP?: boolean;
  /** relayType in listClusterUserCredential's answer (api-versions from 2024-07-15-preview); left out when unset. */
  relayType?: string;
  kubernetes?: SeedKubernetes;
}

export interface SeedResourceGroup {
  subscriptionId: string;
  name: string;
  location: string;
  clusters: SeedCluster[];
}

export interface Seed {
  tenantId: string;
  subscriptions: { id: string; name: string }[];
  principals: SeedPrincipal[];
  roleAssignments: SeedRoleAssignment[];
  resourceGroups: SeedResourceGroup[];
  /** Entra access token lifetime (seconds). */
  tokenLifetimeSeconds: number;
  /**
   * Lifetime of what listClusterUserCredential hands out (seconds): its hybrid connection is
   * deleted this long after it was issued (`expirationTime`), its SAS a little later.
   */
  relayTokenLifetimeSeconds: number;
  /**
   * How long after listClusterUserCredential the cluster's agent starts listening on the new
   * hybrid connection (ms): Azure tells it through the Guest Notification Service. Default
   * DEFAULT_RELAY_LISTENER_DELAY_MS.
   */
  relayListenerDelayMs?: number;
  /**
   * One-way latency (ms) between every relay client (arcproxy, the agent) and the emulated relay,
   * paid by every byte, handshakes included: a relay "in Azure" on loopback. Set (even to 0), every
   * relay connection goes through the delay stage, so `/faults/relay-latency` reaches all of them.
   */
  relayLatencyMs?: number;
}

/** The notification delay when the seed names none: short, so tests stay fast, but never zero. */
export const DEFAULT_RELAY_LISTENER_DELAY_MS = 300;

/** Role names that grant Microsoft.Kubernetes/connectedClusters/listClusterUserCredential/action. */
export const CLUSTER_USER_ROLES = [
  'Azure Arc Enabled Kubernetes Cluster User Role',
  'Azure Arc Kubernetes Admin',
  'Azure Arc Kubernetes Cluster Admin',
  'Owner',
  'Contributor',
];

/**
 * Whether a cluster whose seed says nothing enforces PoP: yes, as a real Arc cluster does
 * (`kubeAADProxy.enforcePoP` is on by default). A seed turns it off per cluster with
 * `enforcePoP: false`, for the bearer fallback.
 */
export const ENFORCE_POP_DEFAULT = true;

/** The cluster's `enforcePoP`, or the default when the seed leaves it out. */
export function enforcesPoP(cluster: Pick<SeedCluster, 'enforcePoP'>): boolean {
  return cluster.enforcePoP ?? ENFORCE_POP_DEFAULT;
}

const DEFAULT_TENANT_ID = '0c6b1f6e-5d3a-4f7e-9a2b-8e4d1c7f3a90';
export const DEFAULT_SUBSCRIPTION_ID = '6f1d8c2a-3b4e-4a5f-8c9d-0e1f2a3b4c5d';

/** The built-in seed: what the README's demo and the tests run against. */
export function defaultSeed(): Seed {
  const sub = DEFAULT_SUBSCRIPTION_ID;
  const ciObjectId = 'b5e3c9a1-7d2f-4e8b-9c6a-1f0e2d3c4b5a';
  const userObjectId = 'd4c3b2a1-6e5f-4a7b-8c9d-2e1f0a9b8c7d';
  const managedIdentityObjectId = '5f6e7d8c-9b0a-4c1d-8e2f-3a4b5c6d7e8f';
  const adminsGroup = 'e1f2a3b4-c5d6-4e7f-8a9b-0c1d2e3f4a5b';
  const viewersGroup = 'f0e1d2c3-b4a5-4968-8776-655443322110';
  return {
    tenantId: DEFAULT_TENANT_ID,
    subscriptions: [{ id: sub, name: 'arcproxy-emulator' }],
    principals: [
      {
        name: 'ci',
        kind: 'servicePrincipal',
        clientId: '2a7c4e91-8b3d-4f6a-9e1c-5d0b7a3f8e42',
        clientSecret: 'emulator-ci-secret-not-for-production',
        objectId: ciObjectId,
        groups: [adminsGroup],
      },
      {
        name: 'noaccess',
        kind: 'servicePrincipal',
        clientId: '9c1e5a3b-2d4f-4b6a-8e0c-7f9a1b3c5d6e',
        clientSecret: 'emulator-noaccess-secret-not-for-production',
        objectId: '1e2d3c4b-5a69-4788-9766-a5b4c3d2e1f0',
        groups: [],
      },
      {
        name: 'viewer',
        kind: 'servicePrincipal',
        clientId: '4b6d8f0a-1c3e-4a5b-9d7f-2e4c6a8b0d1f',
        clientSecret: 'emulator-viewer-secret-not-for-production',
        objectId: '7a8b9c0d-1e2f-4a3b-8c4d-5e6f7a8b9c0d',
        groups: [viewersGroup],
      },
      {
        name: 'overage',
        kind: 'servicePrincipal',
        clientId: '6e8a0c2e-4f6b-4d8c-a0e2-3b5d7f9a1c3e',
        clientSecret: 'emulator-overage-secret-not-for-production',
        objectId: '3c4d5e6f-7a8b-4c9d-8e0f-1a2b3c4d5e6f',
        groups: Array.from({ length: 210 }, (_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`),
      },
      {
        name: 'identity',
        kind: 'servicePrincipal',
        managedIdentity: true,
        clientId: '8d2f4a6c-0e1b-4c3d-9a5f-7b9d1e3f5a7c',
        objectId: managedIdentityObjectId,
        groups: [],
      },
      {
        name: 'developer',
        kind: 'user',
        upn: 'developer@arcproxy-emulator.test',
        objectId: userObjectId,
        groups: [adminsGroup],
      },
    ],
    roleAssignments: [
      { principalId: ciObjectId, role: 'Azure Arc Enabled Kubernetes Cluster User Role', scope: `/subscriptions/${sub}/resourceGroups/demo-rg` },
      { principalId: userObjectId, role: 'Azure Arc Enabled Kubernetes Cluster User Role', scope: `/subscriptions/${sub}/resourceGroups/demo-rg` },
      { principalId: managedIdentityObjectId, role: 'Azure Arc Enabled Kubernetes Cluster User Role', scope: `/subscriptions/${sub}/resourceGroups/demo-rg` },
      {
        principalId: '7a8b9c0d-1e2f-4a3b-8c4d-5e6f7a8b9c0d',
        role: 'Azure Arc Enabled Kubernetes Cluster User Role',
        scope: `/subscriptions/${sub}/resourceGroups/demo-rg/providers/Microsoft.Kubernetes/connectedClusters/demo`,
      },
      {
        principalId: '3c4d5e6f-7a8b-4c9d-8e0f-1a2b3c4d5e6f',
        role: 'Azure Arc Enabled Kubernetes Cluster User Role',
        scope: `/subscriptions/${sub}/resourceGroups/demo-rg`,
      },
    ],
    resourceGroups: [
      {
        subscriptionId: sub,
        name: 'demo-rg',
        location: 'eastus',
        clusters: [
          {
            name: 'demo',
            location: 'eastus',
            connectivityStatus: 'Connected',
            agentVersion: '1.21.10',
            distribution: 'k3s',
            agent: true,
            kubernetes: {
              version: { major: '1', minor: '31', gitVersion: 'v1.31.4+arcproxy-emulator' },
              namespaces: ['default', 'kube-system'],
              serviceAccounts: [
                { namespace: 'default', name: 'demo-admin', token: 'emulator-sa-token-demo-admin-7d1c4f2a9b' },
                { namespace: 'default', name: 'demo-viewer', token: 'emulator-sa-token-demo-viewer-3e8b6a0c5d' },
                { namespace: 'default', name: 'demo-nobody', token: 'emulator-sa-token-demo-nobody-9f2a4c6e8b' },
              ],
              bindings: [
                { role: 'cluster-admin', users: [ciObjectId, userObjectId, managedIdentityObjectId], serviceAccounts: ['default:demo-admin'] },
                { role: 'view', groups: [viewersGroup], serviceAccounts: ['default:demo-viewer'] },
              ],
              pods: [
                { namespace: 'default', name: 'hello-0', logEverySecond: true, echoPorts: [8080], containers: ['hello'] },
                { namespace: 'default', name: 'hello-1', echoPorts: [8080], containers: ['hello'] },
                { namespace: 'default', name: 'hello-2', echoPorts: [8080], containers: ['hello'] },
              ],
            },
          },
          {
            name: 'offline',
            location: 'eastus',
            connectivityStatus: 'Offline',
            agentVersion: '1.21.10',
            distribution: 'k3s',
            agent: false,
          },
        ],
      },
    ],
    tokenLifetimeSeconds: 3600,
    relayTokenLifetimeSeconds: 3 * 60 * 60,
  };
}

export function findPrincipal(seed: Seed, name: string): SeedPrincipal {
  const p = seed.principals.find((x) => x.name === name);
  if (!p) throw new UsageError(`The seed has no principal named "${name}".`, 'ARCPROXY_BAD_SEED');
  return p;
}

/** Loads a YAML seed; missing top-level fields fall back to the default seed's. */
export function loadSeedFile(path: string): Seed {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new UsageError(`Cannot read seed file ${path}: ${(err as Error).message}`, 'ARCPROXY_BAD_SEED');
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new UsageError(`Seed file ${path} is not valid YAML: ${(err as Error).message}`, 'ARCPROXY_BAD_SEED');
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) {
    throw new UsageError(`Seed file ${path} must hold a YAML mapping.`, 'ARCPROXY_BAD_SEED');
  }
  const seed = { ...defaultSeed(), ...(doc as Partial<Seed>) };
  validateSeed(seed, path);
  return seed;
}

function validateSeed(seed: Seed, source: string): void {
  const fail = (what: string) => {
    throw new UsageError(`Seed ${source}: ${what}`, 'ARCPROXY_BAD_SEED');
  };
  if (typeof seed.tenantId !== 'string') fail('"tenantId" must be a string.');
  if (!Array.isArray(seed.principals)) fail('"principals" must be a list.');
  if (!Array.isArray(seed.resourceGroups)) fail('"resourceGroups" must be a list.');
  if (!Array.isArray(seed.roleAssignments)) fail('"roleAssignments" must be a list.');
  if (!(typeof seed.relayTokenLifetimeSeconds === 'number' && seed.relayTokenLifetimeSeconds >= 1))
    fail('"relayTokenLifetimeSeconds" must be a number of seconds, at least 1.');
  const delay = seed.relayListenerDelayMs;
  if (delay !== undefined && !(typeof delay === 'number' && Number.isFinite(delay) && delay >= 0 && delay <= 600_000))
    fail('"relayListenerDelayMs" must be a number of milliseconds from 0 to 600000.');
  const latency = seed.relayLatencyMs;
  if (latency !== undefined && !(typeof latency === 'number' && Number.isFinite(latency) && latency >= 0 && latency <= 10_000))
    fail('"relayLatencyMs" must be a number of milliseconds from 0 to 10000.');
  for (const p of seed.principals) {
    if (p.clientCertificate !== undefined && !isRsaCertificate(p.clientCertificate)) {
      fail(`principal ${p.name}: "clientCertificate" must be a PEM certificate with an RSA key (Entra signs in certificates with RS256 or PS256).`);
    }
  }
  for (const rg of seed.resourceGroups) {
    if (!rg.name || !rg.subscriptionId || !Array.isArray(rg.clusters)) fail('each resource group needs name, subscriptionId and clusters.');
    for (const c of rg.clusters) {
      if (!c.name) fail(`a cluster in ${rg.name} has no name.`);
      if (c.agent && !c.kubernetes) fail(`cluster ${c.name} runs an agent but has no "kubernetes" section.`);
      if (c.enforcePoP !== undefined && typeof c.enforcePoP !== 'boolean') fail(`cluster ${c.name}: "enforcePoP" must be true or false.`);
      if (c.relayType !== undefined && (typeof c.relayType !== 'string' || c.relayType === ''))
        fail(`cluster ${c.name}: "relayType" must be a non-empty string.`);
      for (const p of c.kubernetes?.pods ?? []) {
        const bytes = p.logBytes;
        if (bytes !== undefined && !(Number.isSafeInteger(bytes) && bytes >= 0 && bytes <= GENERATED_LOG_MAX_BYTES)) {
          fail(`pod ${p.namespace}/${p.name} in cluster ${c.name}: "logBytes" must be a whole number from 0 to ${GENERATED_LOG_MAX_BYTES}.`);
        }
      }
    }
  }
}

function isRsaCertificate(pem: unknown): boolean {
  if (typeof pem !== 'string') return false;
  try {
    return new X509Certificate(pem).publicKey.asymmetricKeyType === 'rsa';
  } catch {
    return false;
  }
}

/** The ARM resource id of a connected cluster. */
export function clusterResourceId(subscriptionId: string, resourceGroup: string, name: string): string {
  return `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroup}/providers/Microsoft.Kubernetes/connectedClusters/${name}`;
}
