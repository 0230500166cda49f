/**
 * One Azure Resource Manager request through the Azure SDK's HTTP pipeline (@azure/core-client's
 * ServiceClient with armClientOptions from transport.ts): a bearer token for the cloud's ARM
 * audience, claims challenges answered as the generated ARM clients answer them, the session's
 * correlation id, the cloud transport, and the pipeline's default retries — 429 and 503 after their
 * Retry-After, other 5xx (not 501/505) and 408 with exponential backoff from about a second, and
 * connection failures, at most 3 retries. The answer comes back whatever its status, with its body
 * parsed as JSON when it is JSON: what it means is the caller's business (arm.ts).
 */
import type { TokenCredential } from '@azure/identity';
import type { CloudProfile } from '../net/cloud-profile.js';
import { loadCoreClient, loadCoreRestPipeline } from './sdk.js';
import { armClientOptions } from './transport.js';

export interface ArmAnswer {
  status: number;
  /** The body as JSON; undefined when it is empty or not JSON. */
  body: unknown;
}

export interface ArmRest {
  /**
   * Sends `method` to `{endpoint}{path}?api-version=…`. `path` starts with a slash and has its
   * segments encoded. A body is sent as JSON. Rejects only when no answer came (connection
   * failures after the retries, an aborted request).
   */
  send(method: 'GET' | 'POST', path: string, apiVersion: string, body?: unknown): Promise<ArmAnswer>;
}

function parseJson(text: string | undefined): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

export function createArmRest(cloud: CloudProfile, credential: TokenCredential, correlationId?: string): ArmRest {
  const { ServiceClient, authorizeRequestOnClaimChallenge, deserializationPolicyName } = loadCoreClient();
  const { bearerTokenAuthenticationPolicy, bearerTokenAuthenticationPolicyName, createPipelineRequest, formDataPolicyName } = loadCoreRestPipeline();
  const options = armClientOptions(cloud, correlationId);
  const client = new ServiceClient({ ...options, credential });
  // The generated ARM clients (@azure/arm-*) swap the default bearer policy for one that also
  // answers a 401 whose WWW-Authenticate carries claims; so does arcproxy.
  client.pipeline.removePolicy({ name: bearerTokenAuthenticationPolicyName });
  client.pipeline.addPolicy(
    bearerTokenAuthenticationPolicy({
      credential,
      scopes: options.credentialScopes,
      challengeCallbacks: { authorizeRequestOnChallenge: authorizeRequestOnClaimChallenge },
    }),
  );
  // That policy parses JSON bodies for generated operations and throws on a body that is not
  // JSON; arm.ts reads the body itself and says what it expected.
  client.pipeline.removePolicy({ name: deserializationPolicyName });
  // arcproxy sends JSON or nothing; that policy's `body instanceof FormData` check makes Node 20
  // load its fetch implementation (undici) on the first request: ~20 ms of launch-to-ready.
  client.pipeline.removePolicy({ name: formDataPolicyName });
  return {
    async send(method, path, apiVersion, body) {
      const request = createPipelineRequest({ url: `${options.endpoint}${path}?api-version=${encodeURIComponent(apiVersion)}`, method });
      request.headers.set('Accept', 'application/json');
      if (body !== undefined) {
        request.headers.set('Content-Type', 'application/json; charset=utf-8');
        request.body = JSON.stringify(body);
      }
      const response = await client.sendRequest(request);
      return { status: response.status, body: parseJson(response.bodyAsText ?? undefined) };
    },
  };
}
