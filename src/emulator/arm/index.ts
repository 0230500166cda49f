/**
 * The emulated Azure Resource Manager: subscriptions, resource groups and connected clusters
 * from the seed, listClusterUserCredential issuing a new hybrid connection (and its Send token) each time,
 * RBAC from the seed's role assignments, and faults on demand.
 */
import type { EntraEmulator } from '../entra/index.js';
import { startHttpsServer } from '../entra/http.js';
import type { RelayDirectory } from '../relay-directory.js';
import type { Seed } from '../seed.js';
import { createArmAuthenticator } from './auth.js';
import { type ArmFaults, FaultPlan } from './faults.js';
import { ArmInventory } from './inventory.js';
import { handleArmRequest } from './routes.js';

export type { ArmFaults } from './faults.js';

export interface ArmEmulatorOptions {
  seed: Seed;
  tls: { cert: string; key: string };
  entra: EntraEmulator;
  relays: RelayDirectory;
  /** The cloud profile's resourceManagerAudience, e.g. https://management.core.windows.net/ */
  audience: string;
  host?: string;
  port?: number;
  now?: () => number;
}

export interface ArmEmulator {
  url: string;
  faults: ArmFaults;
  setConnectivityStatus(resourceGroup: string, cluster: string, status: string): void;
  close(): Promise<void>;
}

export async function createArmEmulator(opts: ArmEmulatorOptions): Promise<ArmEmulator> {
  const now = opts.now ?? Date.now;
  const inventory = new ArmInventory(opts.seed, now);
  const faults = new FaultPlan(opts.seed.relayTokenLifetimeSeconds);
  const auth = createArmAuthenticator({ entra: opts.entra, audience: opts.audience, tenantId: opts.seed.tenantId, now });
  const ctx = { inventory, relays: opts.relays, auth, faults, now };
  const server = await startHttpsServer(opts.tls, opts.host ?? '127.0.0.1', opts.port ?? 0, (req, res) => handleArmRequest(ctx, req, res));
  return {
    url: server.url,
    faults,
    setConnectivityStatus: (resourceGroup, cluster, status) => inventory.setConnectivityStatus(resourceGroup, cluster, status),
    close: () => server.close(),
  };
}
