/**
 * Makes Azure SDK clients (@azure/identity credentials, arcproxy's ARM client) reach a cloud through its
 * profile's host map and trust its extra CA. The SDK's HTTP client uses `request.agent` when a
 * policy sets one, so one per-call policy hands every request a shared CloudAgent. Built-in
 * clouds (no CA, no host map) get no policy at all: the SDK's defaults stay untouched.
 */
import type { TokenCredentialOptions } from '@azure/identity';
import { CloudAgent } from '../net/endpoints.js';
import { armScope } from './cloud.js';
import type { CloudProfile } from '../net/cloud-profile.js';

export type AdditionalPolicyConfig = NonNullable<TokenCredentialOptions['additionalPolicies']>[number];

const CLOUD_TRANSPORT_POLICY_NAME = 'arcproxyCloudTransport';

export interface AzureClientOptions {
  additionalPolicies?: AdditionalPolicyConfig[];
}

export interface CredentialTransportOptions extends AzureClientOptions {
  authorityHost: string;
  disableInstanceDiscovery?: boolean;
}

export interface ArmClientTransportOptions extends AzureClientOptions {
  endpoint: string;
  credentialScopes: string[];
}

/** One agent per profile object, so credentials and ARM clients share kept-alive connections. */
const agents = new WeakMap<CloudProfile, CloudAgent>();

function needsCustomTransport(cloud: CloudProfile): boolean {
  return Boolean(cloud.ca) || Object.keys(cloud.hostMap ?? {}).length > 0;
}

/** The shared agent for a profile (created on first use). */
export function cloudAgentFor(cloud: CloudProfile): CloudAgent {
  let agent = agents.get(cloud);
  if (!agent) {
    agent = new CloudAgent(cloud);
    agents.set(cloud, agent);
  }
  return agent;
}

/** Closes the profile's pooled connections (idle sockets never hold the process open anyway). */
export function closeCloudTransport(cloud: CloudProfile): void {
  agents.get(cloud)?.destroy();
  agents.delete(cloud);
}

export function azureClientOptions(cloud: CloudProfile): AzureClientOptions {
  if (!needsCustomTransport(cloud)) return {};
  return {
    additionalPolicies: [
      {
        position: 'perCall',
        policy: {
          name: CLOUD_TRANSPORT_POLICY_NAME,
          sendRequest(request, next) {
            // An agent set earlier (e.g. by the SDK's proxy policy) wins, as the SDK's own agent policy does.
            if (!request.agent) request.agent = cloudAgentFor(cloud);
            return next(request);
          },
        },
      },
    ],
  };
}

export function credentialOptions(cloud: CloudProfile): CredentialTransportOptions {
  return {
    authorityHost: cloud.authorityHost,
    ...(cloud.disableInstanceDiscovery ? { disableInstanceDiscovery: true } : {}),
    ...azureClientOptions(cloud),
  };
}

/**
 * Options for ARM clients. `correlationId` goes on every call as x-ms-correlation-request-id, as
 * Microsoft's tooling sends it, so ARM's logs and the agent's name the same session.
 */
export function armClientOptions(cloud: CloudProfile, correlationId?: string): ArmClientTransportOptions {
  const endpoint = cloud.resourceManagerEndpoint.replace(/\/+$/, '');
  const base = azureClientOptions(cloud);
  const correlation: AdditionalPolicyConfig[] = correlationId
    ? [
        {
          position: 'perCall',
          policy: {
            name: 'arcproxyCorrelationId',
            sendRequest(request, next) {
              request.headers.set('x-ms-correlation-request-id', correlationId);
              return next(request);
            },
          },
        },
      ]
    : [];
  const additionalPolicies = [...(base.additionalPolicies ?? []), ...correlation];
  return {
    endpoint,
    credentialScopes: [armScope(cloud)],
    ...(additionalPolicies.length > 0 ? { additionalPolicies } : {}),
  };
}
