/**
 * Starts the whole emulator on loopback: one CA, Entra ID, ARM, Azure Relay, and for every
 * seeded cluster that runs an agent, a small apiserver with the agent in front of it (dialling the
 * relay as a listener, outbound only, like Arc's clusterconnect-agent). arcproxy reaches it with
 * nothing but a cloud profile: endpoints, a host map for the relay names, and the CA.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CloudProfile } from '../net/cloud-profile.js';
import { createCertificateAuthority, issueServerCertificate } from '../pki/certs.js';
import { clusterResourceId, DEFAULT_RELAY_LISTENER_DELAY_MS, enforcesPoP, findPrincipal, type Seed } from './seed.js';
import { RelayDirectory } from './relay-directory.js';
import { createEntraEmulator, type EntraEmulator } from './entra/index.js';
import { createArmEmulator, type ArmEmulator } from './arm/index.js';
import { createRelayEmulator, type RelayCounters, type RelayEmulator } from './relay/index.js';
import type { DeliveryProbe } from './relay/delivery-probe.js';
import { ClusterListeners } from './guest-notifications.js';
import { createApiServer, type ApiServer } from './apiserver/index.js';
import { createStreamingHandlers } from './apiserver/streaming/index.js';
import { createClusterAgent, type ClusterAgent } from './agent/index.js';
import { startAdminServer, type AdminServer } from './admin.js';
import type { EmulatorFaults } from './faults.js';
import type { LogSink } from './request-log.js';

const EMULATOR_RELAY_SUFFIX = 'servicebus.arcproxy-emulator.test';
const ARM_AUDIENCE = 'https://management.core.windows.net/';
const HOST = '127.0.0.1';

export interface EmulatorOptions {
  seed: Seed;
  /** First of a block of fixed ports; default: any free ports. */
  basePort?: number;
  /** Where the cloud profile is written; default: a new temporary directory. */
  stateDir?: string;
  /** Receives one line per request at each apiserver and agent (`arcproxy emulator --log`). */
  requestLog?: LogSink;
}

export interface HybridConnectionStats {
  issued: number;
  live: number;
  used: number;
}

export interface EmulatedCluster {
  resourceGroup: string;
  name: string;
  /** Its ARM id. */
  armId: string;
  apiserver: ApiServer;
  agent: ClusterAgent;
}

export interface Emulator {
  readonly seed: Seed;
  readonly cloud: CloudProfile;
  /** Path of the cloud profile JSON (ARCPROXY_CLOUD). */
  readonly cloudFile: string;
  /** Variables for arcproxy and the Azure SDKs (what --write-env writes). */
  readonly env: Record<string, string>;
  readonly clusters: EmulatedCluster[];
  readonly faults: EmulatorFaults;
  readonly adminUrl: string;
  /** A cluster's hybrid connections: issued so far, alive now, and how many carried a relayed connection. */
  hybridConnections(cluster: string): HybridConnectionStats;
  /** The relay's connection counts: TCP connections, relayed (sender) connections, control channels. */
  relayCounters(): RelayCounters;
  /** The relay's timing of messages towards senders, for the benchmark (relay/delivery-probe.ts). */
  readonly relayDeliveryProbe: DeliveryProbe;
  /**
   * A federated token (the kind GitHub Actions or AKS hands a workload) for a service principal:
   * what a workload-identity sign-in exchanges at the token endpoint.
   */
  mintFederatedToken(clientId: string, lifetimeSeconds?: number): Promise<string>;
  close(): Promise<void>;
}

const portAt = (base: number | undefined, offset: number) => (base === undefined ? 0 : base + offset);

export async function startEmulator(opts: EmulatorOptions): Promise<Emulator> {
  const { seed } = opts;
  const closers: (() => Promise<void>)[] = [];
  const closeAll = async () => {
    for (const close of closers.reverse()) await close().catch(() => undefined);
  };
  try {
    const ca = await createCertificateAuthority('arcproxy emulator CA', 30);
    const tls = await issueServerCertificate(ca, {
      commonName: 'arcproxy emulator',
      dnsNames: ['localhost', `*.${EMULATOR_RELAY_SUFFIX}`],
      ipAddresses: [HOST],
      days: 30,
    });
    const relays = new RelayDirectory(EMULATOR_RELAY_SUFFIX);
    closers.push(async () => relays.close());
    let listenerDelayMs = seed.relayListenerDelayMs ?? DEFAULT_RELAY_LISTENER_DELAY_MS;

    const entra: EntraEmulator = await createEntraEmulator({ seed, tls, host: HOST, port: portAt(opts.basePort, 0), identityPort: portAt(opts.basePort, 4) });
    closers.push(() => entra.close());
    const arm: ArmEmulator = await createArmEmulator({ seed, tls, entra, relays, audience: ARM_AUDIENCE, host: HOST, port: portAt(opts.basePort, 1) });
    closers.push(() => arm.close());
    const relay: RelayEmulator = await createRelayEmulator({
      directory: relays,
      tls,
      host: HOST,
      port: portAt(opts.basePort, 2),
      ...(seed.relayLatencyMs !== undefined ? { latencyMs: seed.relayLatencyMs } : {}),
    });
    closers.push(() => relay.close());

    const cloud: CloudProfile = {
      name: 'ArcproxyEmulator',
      resourceManagerEndpoint: arm.url,
      resourceManagerAudience: ARM_AUDIENCE,
      authorityHost: entra.url,
      relaySuffix: EMULATOR_RELAY_SUFFIX,
      hostMap: { [`*.${EMULATOR_RELAY_SUFFIX}`]: relay.address },
      ca: ca.cert,
      disableInstanceDiscovery: true,
    };

    const clusters: EmulatedCluster[] = [];
    let offset = 10;
    for (const rg of seed.resourceGroups) {
      for (const c of rg.clusters) {
        if (!c.agent || !c.kubernetes) continue;
        const apiserver = await createApiServer({
          kubernetes: c.kubernetes,
          tls,
          host: HOST,
          port: portAt(opts.basePort, offset++),
          streaming: createStreamingHandlers(),
          ...(opts.requestLog ? { requestLog: opts.requestLog } : {}),
        });
        closers.push(() => apiserver.close());
        // The id ARM returns for this cluster (arm/inventory.ts builds it the same way).
        const armId = clusterResourceId(rg.subscriptionId, rg.name, c.name);
        const agent = await createClusterAgent({
          // Listens on each hybrid connection ARM issues for the cluster, once it is told of it.
          source: () => new ClusterListeners({ directory: relays, clusterId: armId, cloud, delayMs: () => listenerDelayMs }),
          apiserver: { url: apiserver.url, ca: ca.cert, token: apiserver.agentToken },
          entra: { tenantId: seed.tenantId, issuer: entra.issuer(seed.tenantId), jwks: entra.jwks() },
          cluster: { armId, enforcePoP: enforcesPoP(c) },
          ...(opts.requestLog ? { requestLog: opts.requestLog } : {}),
        });
        agent.start();
        closers.push(() => agent.stop());
        clusters.push({ resourceGroup: rg.name, name: c.name, armId, apiserver, agent });
      }
    }

    const faults = emulatorFaults({
      relay,
      arm,
      entra,
      clusters,
      setListenerDelay: (ms) => {
        if (!Number.isFinite(ms) || ms < 0) throw new RangeError('The listener delay must be a non-negative number of milliseconds.');
        listenerDelayMs = ms;
      },
    });
    const hybridConnections = (name: string): HybridConnectionStats => {
      const rg = seed.resourceGroups.find((g) => g.clusters.some((c) => c.name.toLowerCase() === name.toLowerCase()));
      if (!rg) throw new Error(`the seed has no cluster named ${name}`);
      const armId = clusterResourceId(rg.subscriptionId, rg.name, rg.clusters.find((c) => c.name.toLowerCase() === name.toLowerCase())!.name);
      return { issued: relays.issuedCount(armId), live: relays.liveFor(armId).length, used: relay.usedHybridConnections(armId) };
    };
    const admin: AdminServer = await startAdminServer({
      tls,
      host: HOST,
      port: portAt(opts.basePort, 3),
      faults,
      hybridConnections,
      relayCounters: () => relay.counters(),
    });
    closers.push(() => admin.close());

    // A directory the user named is created if need be and kept; one of our own goes at close.
    let stateDir: string;
    if (opts.stateDir) {
      stateDir = opts.stateDir;
      await mkdir(stateDir, { recursive: true, mode: 0o700 });
    } else {
      const own = await mkdtemp(join(tmpdir(), 'arcproxy-emulator-'));
      stateDir = own;
      // Closers run last-added first: this one runs after everything else has stopped.
      closers.unshift(() => rm(own, { recursive: true, force: true }));
    }
    const cloudFile = join(stateDir, 'cloud.json');
    await writeFile(cloudFile, `${JSON.stringify(cloud, null, 2)}\n`, { mode: 0o600 });

    const env = emulatorEnv(seed, cloudFile, admin, entra.managedIdentity);
    return {
      seed,
      cloud,
      cloudFile,
      env,
      clusters,
      faults,
      adminUrl: admin.url,
      hybridConnections,
      relayCounters: () => relay.counters(),
      relayDeliveryProbe: relay.deliveryProbe,
      mintFederatedToken: (clientId, lifetimeSeconds) => entra.mintFederatedToken(clientId, lifetimeSeconds),
      close: closeAll,
    };
  } catch (err) {
    await closeAll();
    throw err;
  }
}

function emulatorFaults(parts: {
  relay: RelayEmulator;
  arm: ArmEmulator;
  entra: EntraEmulator;
  clusters: EmulatedCluster[];
  setListenerDelay: (ms: number) => void;
}): EmulatorFaults {
  const clusterNamed = (name: string) => {
    const c = parts.clusters.find((x) => x.name.toLowerCase() === name.toLowerCase());
    if (!c) throw new Error(`no emulated cluster named ${name} runs an agent`);
    return c;
  };
  return {
    dropRelayConnections: () => parts.relay.faults.dropAllConnections(),
    expireRelayTokens: () => parts.relay.faults.expireTokensNow(),
    setAgentOnline: (cluster, online) => clusterNamed(cluster).agent.setOnline(online),
    armFailNext: (count, status, retryAfterSeconds) => parts.arm.faults.failNext(count, status, retryAfterSeconds),
    entraThrottleNext: (count, retryAfterSeconds) => parts.entra.throttleNext(count, retryAfterSeconds),
    setTokenLifetime: (seconds) => parts.entra.setTokenLifetime(seconds),
    setRelayTokenLifetime: (seconds) => parts.arm.faults.setRelayTokenLifetime(seconds),
    setDeviceCodeApproval: (approval, intervalSeconds) => parts.entra.setDeviceCodeApproval(approval, intervalSeconds),
    approveDeviceCode: (userCode) => parts.entra.approveDeviceCode(userCode),
    setRelayListenerDelay: (ms) => parts.setListenerDelay(ms),
    setRelayLatency: (ms) => parts.relay.faults.setLatency(ms),
  };
}

function emulatorEnv(seed: Seed, cloudFile: string, admin: AdminServer, identity: { endpoint: string; header: string }): Record<string, string> {
  const ci = findPrincipal(seed, 'ci');
  const noaccess = findPrincipal(seed, 'noaccess');
  const demoAdmin = seed.resourceGroups
    .flatMap((rg) => rg.clusters)
    .find((c) => c.name === 'demo')
    ?.kubernetes?.serviceAccounts.find((sa) => sa.name === 'demo-admin');
  const env: Record<string, string> = {
    AZURE_TENANT_ID: seed.tenantId,
    AZURE_CLIENT_ID: ci.clientId ?? '',
    AZURE_CLIENT_SECRET: ci.clientSecret ?? '',
    AZURE_SUBSCRIPTION_ID: seed.subscriptions[0]?.id ?? '',
    ARCPROXY_CLOUD: cloudFile,
    ARCPROXY_EMULATOR_NOACCESS_CLIENT_ID: noaccess.clientId ?? '',
    ARCPROXY_EMULATOR_NOACCESS_CLIENT_SECRET: noaccess.clientSecret ?? '',
    ARCPROXY_EMULATOR_ADMIN_URL: admin.url,
    ARCPROXY_EMULATOR_ADMIN_KEY: admin.key,
    // Not IDENTITY_ENDPOINT itself: sourcing the env file must not turn every Azure SDK in the
    // shell to managed identity. Copy them to IDENTITY_ENDPOINT/IDENTITY_HEADER to use it.
    ARCPROXY_EMULATOR_IDENTITY_ENDPOINT: identity.endpoint,
    ARCPROXY_EMULATOR_IDENTITY_HEADER: identity.header,
  };
  if (demoAdmin) env.ARCPROXY_EMULATOR_SA_TOKEN = demoAdmin.token;
  return env;
}

/** POSIX shell `export` lines, single-quoted so no value is expanded. */
export function renderEnvFile(env: Record<string, string>): string {
  return Object.entries(env)
    .map(([k, v]) => `export ${k}='${v.replace(/'/g, `'\\''`)}'\n`)
    .join('');
}
