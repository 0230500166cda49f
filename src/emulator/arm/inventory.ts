/**
 * The resources the emulated ARM serves, looked up case-insensitively as ARM does, and their
 * JSON in the REST specification's shapes (subscriptions, resource groups, connected clusters).
 */
import { createHash, generateKeyPairSync } from 'node:crypto';
import { clusterResourceId, type Seed, type SeedCluster, type SeedResourceGroup } from '../seed.js';

export interface ClusterRecord {
  id: string;
  subscriptionId: string;
  resourceGroup: SeedResourceGroup;
  cluster: SeedCluster;
  connectivityStatus: string;
  /** When the agent last reached Azure (ms); "now" for a Connected cluster. */
  lastConnectivityMs: number;
  agentPublicKeyCertificate: string;
}

const eq = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();

/** A stable GUID-shaped id derived from a name, for identities the seed does not spell out. */
function derivedGuid(name: string): string {
  const h = createHash('sha256').update(name).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** The agent's public key as ARM shows it: base64 of a DER SubjectPublicKeyInfo. */
function agentPublicKey(): string {
  const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
}

export class ArmInventory {
  readonly seed: Seed;
  readonly #clusters: ClusterRecord[] = [];
  readonly #now: () => number;

  constructor(seed: Seed, now: () => number) {
    this.seed = seed;
    this.#now = now;
    for (const rg of seed.resourceGroups) {
      for (const cluster of rg.clusters) {
        this.#clusters.push({
          id: clusterResourceId(rg.subscriptionId, rg.name, cluster.name),
          subscriptionId: rg.subscriptionId,
          resourceGroup: rg,
          cluster,
          connectivityStatus: cluster.connectivityStatus,
          lastConnectivityMs: now() - (cluster.connectivityStatus === 'Connected' ? 0 : 3 * 24 * 60 * 60 * 1000),
          agentPublicKeyCertificate: agentPublicKey(),
        });
      }
    }
  }

  clusters(): readonly ClusterRecord[] {
    return this.#clusters;
  }

  subscription(id: string): Seed['subscriptions'][number] | undefined {
    return this.seed.subscriptions.find((s) => eq(s.id, id));
  }

  resourceGroup(subscriptionId: string, name: string): SeedResourceGroup | undefined {
    return this.seed.resourceGroups.find((rg) => eq(rg.subscriptionId, subscriptionId) && eq(rg.name, name));
  }

  cluster(subscriptionId: string, resourceGroup: string, name: string): ClusterRecord | undefined {
    return this.#clusters.find((c) => eq(c.subscriptionId, subscriptionId) && eq(c.resourceGroup.name, resourceGroup) && eq(c.cluster.name, name));
  }

  /** Changes a cluster's connectivity (first resource group of that name in any subscription). */
  setConnectivityStatus(resourceGroup: string, name: string, status: string): void {
    const record = this.#clusters.find((c) => eq(c.resourceGroup.name, resourceGroup) && eq(c.cluster.name, name));
    if (!record) throw new RangeError(`The emulator has no connected cluster '${name}' in resource group '${resourceGroup}'.`);
    if (record.connectivityStatus === 'Connected' && status !== 'Connected') record.lastConnectivityMs = this.#now();
    record.connectivityStatus = status;
  }

  subscriptionJson(sub: Seed['subscriptions'][number]): Record<string, unknown> {
    return {
      id: `/subscriptions/${sub.id}`,
      authorizationSource: 'RoleBased',
      managedByTenants: [],
      subscriptionId: sub.id,
      tenantId: this.seed.tenantId,
      displayName: sub.name,
      state: 'Enabled',
      subscriptionPolicies: { locationPlacementId: 'Public_2014-09-01', quotaId: 'PayAsYouGo_2014-09-01', spendingLimit: 'Off' },
    };
  }

  resourceGroupJson(rg: SeedResourceGroup): Record<string, unknown> {
    return {
      id: `/subscriptions/${rg.subscriptionId}/resourceGroups/${rg.name}`,
      name: rg.name,
      type: 'Microsoft.Resources/resourceGroups',
      location: rg.location,
      properties: { provisioningState: 'Succeeded' },
    };
  }

  clusterJson(record: ClusterRecord): Record<string, unknown> {
    const { cluster } = record;
    const gitVersion = cluster.kubernetes?.version.gitVersion ?? 'v1.31.0';
    const connected = record.connectivityStatus === 'Connected';
    return {
      id: record.id,
      name: cluster.name,
      type: 'microsoft.kubernetes/connectedclusters',
      location: cluster.location,
      tags: {},
      identity: { type: 'SystemAssigned', principalId: derivedGuid(`identity:${record.id.toLowerCase()}`), tenantId: this.seed.tenantId },
      properties: {
        agentPublicKeyCertificate: record.agentPublicKeyCertificate,
        kubernetesVersion: gitVersion.replace(/^v/, '').replace(/\+.*$/, ''),
        totalNodeCount: 1,
        totalCoreCount: 4,
        agentVersion: cluster.agentVersion,
        distribution: cluster.distribution,
        infrastructure: 'generic',
        offering: '',
        provisioningState: 'Succeeded',
        connectivityStatus: record.connectivityStatus,
        lastConnectivityTime: new Date(connected ? this.#now() : record.lastConnectivityMs).toISOString(),
        managedIdentityCertificateExpirationTime: new Date(this.#now() + 90 * 24 * 60 * 60 * 1000).toISOString(),
      },
    };
  }
}
