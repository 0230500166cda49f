/**
 * ARM error answers: the `{error:{code,message}}` body every Azure Resource Manager failure
 * carries, with the codes and texts of the real service.
 */

export class ArmHttpError extends Error {
  readonly status: number;
  readonly code: string;
  readonly headers: Record<string, string>;

  constructor(status: number, code: string, message: string, headers: Record<string, string> = {}) {
    super(message);
    this.name = 'ArmHttpError';
    this.status = status;
    this.code = code;
    this.headers = headers;
  }

  body(): { error: { code: string; message: string } } {
    return { error: { code: this.code, message: this.message } };
  }
}

/** .NET's invariant "M/d/yyyy h:mm:ss AM" form, which ARM uses in its token-expiry message. */
export function dotNetUtc(date: Date): string {
  const h = date.getUTCHours();
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${date.getUTCMonth() + 1}/${date.getUTCDate()}/${date.getUTCFullYear()} ${h % 12 || 12}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())} ${h < 12 ? 'AM' : 'PM'}`;
}

export const LIST_USER_CREDENTIAL_ACTION = 'Microsoft.Kubernetes/connectedClusters/listClusterUserCredential/action';
export const READ_CLUSTER_ACTION = 'Microsoft.Kubernetes/connectedClusters/read';
export const READ_RESOURCE_GROUP_ACTION = 'Microsoft.Resources/subscriptions/resourceGroups/read';

export const armErrors = {
  missingApiVersion: () => new ArmHttpError(400, 'MissingApiVersionParameter', 'The api-version query parameter (?api-version=) is required for all requests.'),
  invalidApiVersion: (value: string) =>
    new ArmHttpError(
      400,
      'InvalidApiVersionParameter',
      `The api-version '${value}' is invalid. The supported versions are in the form 'yyyy-MM-dd' or 'yyyy-MM-dd-preview'.`,
    ),
  /** A well-formed api-version the resource type does not have, as ARM words it. */
  noRegisteredProvider: (location: string, apiVersion: string, resourceType: string, apiVersions: readonly string[], locations: readonly string[]) =>
    new ArmHttpError(
      400,
      'NoRegisteredProviderFound',
      `No registered resource provider found for location '${location}' and API version '${apiVersion}' for type '${resourceType}'. The supported api-versions are '${apiVersions.join(', ')}'. The supported locations are '${locations.join(', ')}'.`,
    ),
  headerMissing: () => new ArmHttpError(401, 'AuthenticationFailed', "Authentication failed. The 'Authorization' header is missing."),
  headerInvalid: () => new ArmHttpError(401, 'AuthenticationFailed', "Authentication failed. The 'Authorization' header is provided in an invalid format."),
  invalidToken: () => new ArmHttpError(401, 'InvalidAuthenticationToken', 'The access token is invalid.'),
  expiredToken: (expiredAt: Date, now: Date) =>
    new ArmHttpError(
      401,
      'ExpiredAuthenticationToken',
      `The access token expiry UTC time '${dotNetUtc(expiredAt)}' is earlier than current UTC time '${dotNetUtc(now)}'.`,
    ),
  wrongAudience: (tokenAudience: string, allowed: string[]) =>
    new ArmHttpError(
      401,
      'InvalidAuthenticationTokenAudience',
      `The access token has been obtained for wrong audience or resource '${tokenAudience}'. It should exactly match with one of the allowed audiences ${allowed.map((a) => `'${a}'`).join(',')}.`,
    ),
  authorizationFailed: (objectId: string, action: string, scope: string) =>
    new ArmHttpError(
      403,
      'AuthorizationFailed',
      `The client '${objectId}' with object id '${objectId}' does not have authorization to perform action '${action}' over scope '${scope}' or the scope is invalid. If access was recently granted, please refresh your credentials.`,
    ),
  subscriptionNotFound: (id: string) => new ArmHttpError(404, 'SubscriptionNotFound', `The subscription '${id}' could not be found.`),
  resourceGroupNotFound: (name: string) => new ArmHttpError(404, 'ResourceGroupNotFound', `Resource group '${name}' could not be found.`),
  clusterNotFound: (name: string, resourceGroup: string) =>
    new ArmHttpError(
      404,
      'ResourceNotFound',
      `The Resource 'Microsoft.Kubernetes/connectedClusters/${name}' under resource group '${resourceGroup}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix`,
    ),
  noRoute: (path: string) => new ArmHttpError(404, 'InvalidResourceType', `The resource type could not be found for path '${path}'.`),
  methodNotAllowed: (method: string) => new ArmHttpError(405, 'MethodNotAllowed', `The requested method '${method}' is not allowed for this resource.`),
  invalidRequestContent: (detail: string) =>
    new ArmHttpError(400, 'InvalidRequestContent', `The request content was invalid and could not be deserialized: ${detail}`),
  throttled: (subscriptionId: string, retryAfterSeconds: number) =>
    new ArmHttpError(
      429,
      'SubscriptionRequestsThrottled',
      `Number of requests for subscription '${subscriptionId}' exceeded the limit. Please try again after '${retryAfterSeconds}' seconds. Refer to https://aka.ms/arm-throttling`,
      { 'retry-after': String(retryAfterSeconds) },
    ),
  internal: (trackingId: string) =>
    new ArmHttpError(500, 'InternalServerError', `Encountered internal server error. Diagnostic information: tracking id '${trackingId}'.`),
};
