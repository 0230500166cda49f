/**
 * The two Azure Resource Manager calls arcproxy makes on Microsoft.Kubernetes/connectedClusters,
 * sent through the Azure SDK's pipeline (arm-rest.ts) and read here: read the connected cluster,
 * then list its cluster user credential (the relay endpoint and a Send-only SAS). ARM failures
 * become typed errors that say what to do next.
 */
import type { TokenCredential } from '@azure/identity';
import { ArcproxyError, UsageError, type ErrorCode } from '../errors/index.js';
import type { CloudProfile } from '../net/cloud-profile.js';
import { createArmRest, type ArmAnswer, type ArmRest } from './arm-rest.js';

/**
 * The api-version arcproxy speaks: the newest stable one the REST specification publishes for
 * connectedClusters (Azure/azure-rest-api-specs, specification/hybridkubernetes/resource-manager/
 * Microsoft.Kubernetes/HybridKubernetes: readme.md's default tag package-2026-05-01, main.tsp's
 * Versions). Its listClusterUserCredential answer adds relayTid and relayType to 2021-10-01's.
 */
export const CONNECTED_CLUSTERS_API_VERSION = '2026-05-01';

/** For resolving --subscription by name (Microsoft.Resources). */
const SUBSCRIPTIONS_API_VERSION = '2022-12-01';

export interface ClusterRef {
  subscriptionId: string;
  resourceGroup: string;
  name: string;
}

// A resource group: 1-90 letters, digits, `_ - . ( )`, not ending in a period (ARM's documented rule).
const RESOURCE_GROUP = /^[\p{L}\p{N}_\-.()]{0,89}[\p{L}\p{N}_\-()]$/u;
// A cluster name ARM can take in one path segment: no `.`/`..` (they change the URL), no `/ \\ ? # %`.
const UNSAFE_SEGMENT = /^\.{1,2}$|[/\\?#%\p{Cc}]/u;

/**
 * Refuses, before any call to ARM, names that ARM cannot hold or that would change the request's
 * URL (`-n ..` would otherwise read the resource group instead of the cluster).
 */
export function assertClusterNames(ref: Pick<ClusterRef, 'resourceGroup' | 'name'>): void {
  if (ref.name === '' || ref.name.trim() !== ref.name || UNSAFE_SEGMENT.test(ref.name)) {
    throw new UsageError(
      `--name/-n ${JSON.stringify(ref.name)} is not a connected cluster name: it must not be "." or "..", have spaces around it, or contain / \\ ? # %.`,
      'ARCPROXY_BAD_INPUT',
    );
  }
  if (!RESOURCE_GROUP.test(ref.resourceGroup)) {
    throw new UsageError(
      `--resource-group/-g ${JSON.stringify(ref.resourceGroup)} is not a resource group name: 1-90 letters, digits, _ - . ( ), not ending in a period.`,
      'ARCPROXY_BAD_INPUT',
    );
  }
}

export interface ConnectedClusterInfo {
  id: string;
  location: string;
  connectivityStatus: string;
  provisioningState?: string;
  agentVersion?: string;
  distribution?: string;
}

export interface RelayCredential {
  /** Relay namespace label: the host is `${relay}.${cloud.relaySuffix}`. */
  relay: string;
  hybridConnectionName: string;
  /** Send-only SAS for that hybrid connection. Secret. */
  token: string;
  /** When to have fetched a new one (ARM's expirationTime). */
  expiresOn: Date;
  /** The relay's tenant (ARM's relayTid), when ARM says. */
  relayTid?: string;
  /** The kind of relay (ARM's relayType), when ARM says; what a value changes is not public. */
  relayType?: string;
}

export type AuthenticationMethod = 'AAD' | 'Token';

const CLUSTER_USER_ROLE = 'Azure Arc Enabled Kubernetes Cluster User Role';

export class ArmError extends ArcproxyError {
  readonly statusCode: number | undefined;
  constructor(code: ErrorCode, message: string, statusCode?: number, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'ArmError';
    this.statusCode = statusCode;
  }
}

interface RestErrorLike {
  statusCode?: number;
  code?: string;
  message?: string;
}

function restError(err: unknown): RestErrorLike | undefined {
  if (err && typeof err === 'object' && 'statusCode' in err) return err as RestErrorLike;
  return undefined;
}

/** Maps an ARM failure to an ArmError. `action` says what we were doing, for the message. */
function explainArmError(err: unknown, ref: ClusterRef, action: 'read' | 'listCredential'): ArcproxyError {
  if (err instanceof ArcproxyError) return err;
  const rest = restError(err);
  const where = `resource group '${ref.resourceGroup}' (subscription ${ref.subscriptionId})`;
  const status = rest?.statusCode;
  const armCode = rest?.code ?? '';
  if (status === 404) {
    if (armCode === 'ResourceGroupNotFound') {
      return new ArmError(
        'ARCPROXY_RESOURCE_GROUP_NOT_FOUND',
        `Resource group '${ref.resourceGroup}' was not found in subscription ${ref.subscriptionId}. Check -g and --subscription.`,
        status,
        { cause: err },
      );
    }
    if (armCode === 'SubscriptionNotFound') {
      return new ArmError(
        'ARCPROXY_SUBSCRIPTION_NOT_FOUND',
        `Subscription ${ref.subscriptionId} was not found, or the signed-in identity cannot see it. Check --subscription.`,
        status,
        { cause: err },
      );
    }
    return new ArmError(
      'ARCPROXY_CLUSTER_NOT_FOUND',
      `Connected cluster '${ref.name}' was not found in ${where}. List the clusters there with: az connectedk8s list -g ${ref.resourceGroup} -o table`,
      status,
      { cause: err },
    );
  }
  if (status === 403) {
    const what = action === 'read' ? 'read' : 'list the cluster user credentials of';
    return new ArmError(
      'ARCPROXY_FORBIDDEN',
      `The signed-in identity is not allowed to ${what} connected cluster '${ref.name}' in ${where}. Ask an owner of the cluster for the '${CLUSTER_USER_ROLE}' role on the cluster or its resource group (az role assignment create --role "${CLUSTER_USER_ROLE}" --assignee <you> --scope <cluster id>).`,
      status,
      { cause: err },
    );
  }
  if (status === 401) {
    return new ArmError(
      'ARCPROXY_ARM_UNAUTHORIZED',
      `Azure Resource Manager did not accept the sign-in token (${armCode || 'unauthorized'}). Sign in again (az login) or check the credential's tenant.`,
      status,
      { cause: err },
    );
  }
  if (status === 400) {
    return new ArmError('ARCPROXY_ARM_BAD_REQUEST', `Azure Resource Manager refused the request: ${rest?.message ?? armCode}`, status, {
      cause: err,
    });
  }
  const detail = status ? `HTTP ${status}${armCode ? ` ${armCode}` : ''}` : ((err as Error)?.message ?? String(err));
  const verb = action === 'read' ? 'read the connected cluster' : 'list cluster user credentials';
  return new ArmError(
    'ARCPROXY_ARM_UNAVAILABLE',
    `Unable to ${verb} from Azure Resource Manager (${detail}). Try again; if it persists check https://status.azure.com.`,
    status,
    { cause: err },
  );
}

/** The JSON object at `value`, or undefined. */
function objectOf(value: unknown): Record<string, unknown> | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

function stringOf(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** ARM's `{"error":{"code","message"}}` of a failed call, shaped as explainArmError reads it. */
function failureOf(answer: ArmAnswer): RestErrorLike {
  const error = objectOf(objectOf(answer.body)?.error);
  const code = stringOf(error?.code);
  const message = stringOf(error?.message);
  return { statusCode: answer.status, ...(code ? { code } : {}), ...(message ? { message } : {}) };
}

const ok = (answer: ArmAnswer): boolean => answer.status >= 200 && answer.status < 300;

/** A 2xx answer arcproxy cannot read: reported like an outage (ARCPROXY_ARM_UNAVAILABLE). */
const unreadable = (what: string): Error => new Error(`an answer that is not ${what}`);

export interface ArcArmOptions {
  /** Sent on every call as x-ms-correlation-request-id. */
  correlationId?: string;
  /** Told once for each relayType arcproxy meets (see unknownRelayTypeMessage). */
  warn?: (message: string) => void;
  /** The Microsoft.Kubernetes api-version to speak; CONNECTED_CLUSTERS_API_VERSION unless a test says otherwise. */
  apiVersion?: string;
}

export class ArcArm {
  readonly #rest: Promise<ArmRest>;
  readonly #apiVersion: string;
  readonly #warn: ((message: string) => void) | undefined;
  readonly #subscriptionId: string;
  readonly #relayTypesTold = new Set<string>();

  constructor(cloud: CloudProfile, credential: TokenCredential, subscriptionId: string, options: ArcArmOptions = {}) {
    // A promise so a load failure surfaces where the first call awaits it.
    this.#rest = Promise.resolve().then(() => createArmRest(cloud, credential, options.correlationId));
    this.#apiVersion = options.apiVersion ?? CONNECTED_CLUSTERS_API_VERSION;
    this.#warn = options.warn;
    this.#subscriptionId = subscriptionId;
  }

  /** The cluster's ARM path, in the client's subscription (`ref.subscriptionId` names it in messages). */
  #clusterPath(ref: ClusterRef): string {
    const e = encodeURIComponent;
    return `/subscriptions/${e(this.#subscriptionId)}/resourceGroups/${e(ref.resourceGroup)}/providers/Microsoft.Kubernetes/connectedClusters/${e(ref.name)}`;
  }

  async #call(ref: ClusterRef, action: 'read' | 'listCredential', method: 'GET' | 'POST', path: string, body?: unknown): Promise<unknown> {
    let answer: ArmAnswer;
    try {
      answer = await (await this.#rest).send(method, path, this.#apiVersion, body);
    } catch (err) {
      throw explainArmError(err, ref, action);
    }
    if (!ok(answer)) throw explainArmError(failureOf(answer), ref, action);
    return answer.body;
  }

  async getCluster(ref: ClusterRef): Promise<ConnectedClusterInfo> {
    const path = this.#clusterPath(ref);
    const body = objectOf(await this.#call(ref, 'read', 'GET', path));
    if (!body) throw explainArmError(unreadable('a connected cluster'), ref, 'read');
    const properties = objectOf(body.properties) ?? {};
    const agentVersion = stringOf(properties.agentVersion);
    const distribution = stringOf(properties.distribution);
    const provisioningState = stringOf(properties.provisioningState);
    return {
      // The id as ARM spells it (a PoP token names it); the path asked for if ARM left it out.
      id: stringOf(body.id) ?? path,
      location: stringOf(body.location) ?? '',
      connectivityStatus: stringOf(properties.connectivityStatus) ?? 'Unknown',
      ...(provisioningState ? { provisioningState } : {}),
      ...(agentVersion ? { agentVersion } : {}),
      ...(distribution ? { distribution } : {}),
    };
  }

  async listClusterUserCredential(ref: ClusterRef, authenticationMethod: AuthenticationMethod): Promise<RelayCredential> {
    const result = objectOf(
      await this.#call(ref, 'listCredential', 'POST', `${this.#clusterPath(ref)}/listClusterUserCredential`, { authenticationMethod, clientProxy: true }),
    );
    if (!result) throw explainArmError(unreadable('a cluster user credential'), ref, 'listCredential');
    const hc = objectOf(result.hybridConnectionConfig);
    const relay = stringOf(hc?.relay);
    const hybridConnectionName = stringOf(hc?.hybridConnectionName);
    const token = stringOf(hc?.token);
    if (!hc || !relay || !hybridConnectionName || !token) {
      throw new ArmError(
        'ARCPROXY_ARM_NO_RELAY',
        `Azure Resource Manager returned no relay credentials for '${ref.name}'. The cluster may not support Cluster Connect: check the Arc agent version with az connectedk8s show.`,
      );
    }
    const expirationTime =
      typeof hc.expirationTime === 'number' && Number.isFinite(hc.expirationTime) ? hc.expirationTime : Math.floor(Date.now() / 1000) + 3600;
    const relayTid = stringOf(hc.relayTid);
    const relayType = stringOf(hc.relayType);
    if (relayType) this.#tellRelayType(ref, relayType);
    return {
      relay,
      hybridConnectionName,
      token,
      expiresOn: new Date(expirationTime * 1000),
      ...(relayTid ? { relayTid } : {}),
      ...(relayType ? { relayType } : {}),
    };
  }

  #tellRelayType(ref: ClusterRef, relayType: string): void {
    if (this.#relayTypesTold.has(relayType)) return;
    this.#relayTypesTold.add(relayType);
    this.#warn?.(unknownRelayTypeMessage(ref, relayType));
  }
}

/**
 * No relayType's meaning is public (the REST specification's examples show "byor"; ARM may also
 * leave the field out), so arcproxy knows none: it reaches every relay the same way, at
 * `${relay}.${relaySuffix}` with the Send SAS. It says so once per value it meets.
 */
function unknownRelayTypeMessage(ref: ClusterRef, relayType: string): string {
  return `Azure Resource Manager says the relay of connected cluster '${ref.name}' is of type '${relayType}', which arcproxy does not know; it connects to it as to any Azure Relay hybrid connection. If requests through the proxy fail, report this relay type.`;
}

/** Offline or Expired clusters cannot be reached: say so before opening a listener. */
export function assertClusterReachable(cluster: ConnectedClusterInfo, ref: ClusterRef): void {
  const status = cluster.connectivityStatus.toLowerCase();
  if (status === 'offline' || status === 'expired') {
    throw new ArmError(
      'ARCPROXY_CLUSTER_OFFLINE',
      `Connected cluster '${ref.name}' is ${cluster.connectivityStatus}: its Azure Arc agents have not reached Azure recently, so Cluster Connect cannot reach it. On the cluster, check the agents with: kubectl -n azure-arc get pods (then az connectedk8s show -n ${ref.name} -g ${ref.resourceGroup}).`,
    );
  }
}

export interface SubscriptionInfo {
  id: string;
  name: string;
}

/** Lists the subscriptions the credential can see (used to resolve --subscription by name). */
export async function listSubscriptions(cloud: CloudProfile, credential: TokenCredential, correlationId?: string): Promise<SubscriptionInfo[]> {
  const answer = await createArmRest(cloud, credential, correlationId).send('GET', '/subscriptions', SUBSCRIPTIONS_API_VERSION);
  if (answer.status !== 200) {
    throw explainArmError({ statusCode: answer.status, code: 'ListSubscriptionsFailed' }, { subscriptionId: '?', resourceGroup: '?', name: '?' }, 'read');
  }
  const value = objectOf(answer.body)?.value;
  return (Array.isArray(value) ? value : []).map((item) => {
    const s = objectOf(item);
    return { id: stringOf(s?.subscriptionId) ?? '', name: stringOf(s?.displayName) ?? '' };
  });
}
