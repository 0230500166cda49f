/**
 * The two Azure Resource Manager calls arcproxy makes, through the SDK made for the resource
 * provider (@azure/arm-hybridkubernetes): read the connected cluster, then list its cluster user
 * credential (the relay endpoint and a Send-only SAS). ARM failures become typed errors that say
 * what to do next.
 */
import type { TokenCredential } from '@azure/identity';
import type { ConnectedKubernetesClient } from '@azure/arm-hybridkubernetes';
import { ArcproxyError, type ErrorCode } from '../errors/index.js';
import type { CloudProfile } from '../net/cloud-profile.js';
import { armClientOptions } from './transport.js';
import { loadArmHybridKubernetes, loadCoreClient, loadCoreRestPipeline } from './sdk.js';

export interface ClusterRef {
  subscriptionId: string;
  resourceGroup: string;
  name: string;
}

export interface ConnectedClusterInfo {
  id: string;
  location: string;
  connectivityStatus: string;
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

export class ArcArm {
  readonly #client: Promise<ConnectedKubernetesClient>;

  constructor(cloud: CloudProfile, credential: TokenCredential, subscriptionId: string, correlationId?: string) {
    // A promise so a load failure surfaces where the first call awaits it.
    this.#client = Promise.resolve().then(() => {
      const { ConnectedKubernetesClient } = loadArmHybridKubernetes();
      return new ConnectedKubernetesClient(credential, subscriptionId, armClientOptions(cloud, correlationId));
    });
  }

  async getCluster(ref: ClusterRef): Promise<ConnectedClusterInfo> {
    const client = await this.#client;
    try {
      const c = await client.connectedClusterOperations.get(ref.resourceGroup, ref.name);
      return {
        id: c.id ?? '',
        location: c.location,
        connectivityStatus: c.connectivityStatus ?? 'Unknown',
        ...(c.agentVersion ? { agentVersion: c.agentVersion } : {}),
        ...(c.distribution ? { distribution: c.distribution } : {}),
      };
    } catch (err) {
      throw explainArmError(err, ref, 'read');
    }
  }

  async listClusterUserCredential(ref: ClusterRef, authenticationMethod: AuthenticationMethod): Promise<RelayCredential> {
    const client = await this.#client;
    let result;
    try {
      result = await client.connectedClusterOperations.listClusterUserCredential(ref.resourceGroup, ref.name, { authenticationMethod, clientProxy: true });
    } catch (err) {
      throw explainArmError(err, ref, 'listCredential');
    }
    const hc = result.hybridConnectionConfig;
    if (!hc?.relay || !hc.hybridConnectionName || !hc.token) {
      throw new ArmError(
        'ARCPROXY_ARM_NO_RELAY',
        `Azure Resource Manager returned no relay credentials for '${ref.name}'. The cluster may not support Cluster Connect: check the Arc agent version with az connectedk8s show.`,
      );
    }
    return {
      relay: hc.relay,
      hybridConnectionName: hc.hybridConnectionName,
      token: hc.token,
      expiresOn: new Date((hc.expirationTime ?? Math.floor(Date.now() / 1000) + 3600) * 1000),
    };
  }
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
  const { ServiceClient } = loadCoreClient();
  const { createPipelineRequest } = loadCoreRestPipeline();
  const options = armClientOptions(cloud, correlationId);
  const client = new ServiceClient({ ...options, credential, endpoint: options.endpoint });
  const response = await client.sendRequest(createPipelineRequest({ url: `${options.endpoint}/subscriptions?api-version=2022-12-01`, method: 'GET' }));
  if (response.status !== 200) {
    throw explainArmError({ statusCode: response.status, code: 'ListSubscriptionsFailed' }, { subscriptionId: '?', resourceGroup: '?', name: '?' }, 'read');
  }
  const body = JSON.parse(response.bodyAsText ?? '{}') as { value?: { subscriptionId?: string; displayName?: string }[] };
  return (body.value ?? []).map((s) => ({ id: s.subscriptionId ?? '', name: s.displayName ?? '' }));
}
