/**
 * Errors of the emulated Entra ID: OAuth error bodies shaped like the real service's, and the
 * typed failures of in-process token validation (used by the emulated ARM and agent).
 */
import { randomUUID } from 'node:crypto';

/** An OAuth error answer: status, `error` and the AADSTS code and text. */
export class OAuthError extends Error {
  readonly status: number;
  readonly error: string;
  readonly aadsts: number;

  constructor(status: number, error: string, aadsts: number, description: string) {
    super(description);
    this.name = 'OAuthError';
    this.status = status;
    this.error = error;
    this.aadsts = aadsts;
  }

  /** The JSON body the real service sends: description with trace lines, ids and a timestamp. */
  body(errorUriBase: string, now: Date): Record<string, unknown> {
    const traceId = randomUUID();
    const correlationId = randomUUID();
    const timestamp = now
      .toISOString()
      .replace('T', ' ')
      .replace(/\.\d+Z$/, 'Z');
    return {
      error: this.error,
      error_description: `AADSTS${this.aadsts}: ${this.message}\r\nTrace ID: ${traceId}\r\nCorrelation ID: ${correlationId}\r\nTimestamp: ${timestamp}`,
      error_codes: [this.aadsts],
      timestamp,
      trace_id: traceId,
      correlation_id: correlationId,
      error_uri: `${errorUriBase}/error?code=${this.aadsts}`,
    };
  }
}

export const oauthErrors = {
  tenantNotFound: (tenant: string, error = 'invalid_request') =>
    new OAuthError(
      400,
      error,
      90002,
      `Tenant '${tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.`,
    ),
  applicationNotFound: (clientId: string, tenant: string) =>
    new OAuthError(
      400,
      'unauthorized_client',
      700016,
      `Application with identifier '${clientId}' was not found in the directory '${tenant}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.`,
    ),
  invalidClientSecret: (clientId: string) =>
    new OAuthError(
      401,
      'invalid_client',
      7000215,
      `Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${clientId}'.`,
    ),
  missingCredential: () =>
    new OAuthError(400, 'invalid_client', 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'."),
  missingParameter: (name: string) => new OAuthError(400, 'invalid_request', 900144, `The request body must contain the following parameter: '${name}'.`),
  unsupportedGrant: (grant: string) => new OAuthError(400, 'unsupported_grant_type', 70003, `The app requested an unsupported grant type '${grant}'.`),
  invalidScope: (scope: string) =>
    new OAuthError(
      400,
      'invalid_scope',
      70011,
      `The provided request must include a 'scope' input parameter. The provided value for the input parameter 'scope' is not valid ('${scope}').`,
    ),
  badDeviceCode: () => new OAuthError(400, 'invalid_grant', 70000, 'Provided grant is invalid or malformed.'),
  expiredDeviceCode: () =>
    new OAuthError(400, 'expired_token', 70020, "The provided value for the input parameter 'device_code' is not valid. This device code has expired."),
  badRefreshToken: () => new OAuthError(400, 'invalid_grant', 9002313, 'Invalid request. Request is malformed or invalid.'),
  badAssertionType: () =>
    new OAuthError(400, 'invalid_request', 700021, "Client assertion type is invalid. Expected 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'."),
  assertionNotTrusted: (detail: string) =>
    new OAuthError(400, 'invalid_client', 700213, `No matching federated identity record found for presented assertion. ${detail}`),
  assertionExpired: () => new OAuthError(400, 'invalid_client', 700024, 'Client assertion is not within its valid time range.'),
  // Certificate credentials (a client assertion the application signs with its own certificate's
  // key). 50027, 700021, 700023 and 700027 and their texts are the ones Azure SDK troubleshooting
  // guides and public issue reports quote; which HTTP status goes with each is assumed.
  assertionMalformed: (detail: string) => new OAuthError(400, 'invalid_request', 50027, `JWT token is invalid or malformed. ${detail}`),
  assertionNoThumbprint: () => new OAuthError(400, 'invalid_request', 50027, 'Invalid JWT token. No certificate thumbprint specified in token header.'),
  assertionKeyNotFound: (thumbprintHex: string, clientId: string) =>
    new OAuthError(
      401,
      'invalid_client',
      700027,
      `Client assertion contains an invalid signature. [Reason - The key was not found., Thumbprint of key used by client: '${thumbprintHex}', Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id '${clientId}'.]`,
    ),
  assertionBadSignature: (thumbprintHex: string) =>
    new OAuthError(
      401,
      'invalid_client',
      700027,
      `Client assertion contains an invalid signature. [Reason - The provided signature value did not match the expected signature value., Thumbprint of key used by client: '${thumbprintHex}']`,
    ),
  assertionClientMismatch: () => new OAuthError(401, 'invalid_client', 700021, "Client assertion application identifier doesn't match 'client_id' parameter."),
  assertionAudience: () => new OAuthError(401, 'invalid_client', 700023, 'Client assertion audience claim does not match Realm issuer.'),
  /**
   * A parameter that is present but unusable (for proof of possession: a `token_type` other than
   * pop or Bearer, a `req_cnf` that is not base64url JSON with a string kid). 90100 is Entra's
   * documented InvalidRequestParameter ("The parameter is empty or not valid"); that Entra uses it
   * for these PoP parameters is assumed — its own answer to them is not public.
   */
  invalidParameter: (name: string, detail: string) => new OAuthError(400, 'invalid_request', 90100, `The '${name}' parameter is empty or not valid. ${detail}`),
  /** RFC 8628 §3.5; Entra's code for it is AADSTS70016. */
  authorizationPending: () => new OAuthError(400, 'authorization_pending', 70016, 'OAuth 2.0 device flow error. Authorization is pending. Continue polling.'),
  publicClientNeeded: (clientId: string) =>
    new OAuthError(
      400,
      'invalid_client',
      7000218,
      `The request body must contain the following parameter: 'client_assertion' or 'client_secret'. Application '${clientId}' is a confidential client.`,
    ),
};

export type TokenValidationCode = 'MALFORMED' | 'BAD_SIGNATURE' | 'BAD_ISSUER' | 'BAD_AUDIENCE' | 'EXPIRED' | 'NOT_YET_VALID';

/** Why an access token was refused. The message never contains the token itself. */
export class TokenValidationError extends Error {
  readonly code: TokenValidationCode;
  /** Set for EXPIRED: when the token expired (unix seconds). */
  readonly expiredAt: number | undefined;
  /** Set for BAD_AUDIENCE: the audience the token carries. */
  readonly tokenAudience: string | undefined;

  constructor(code: TokenValidationCode, message: string, details: { expiredAt?: number; tokenAudience?: string } = {}) {
    super(message);
    this.name = 'TokenValidationError';
    this.code = code;
    this.expiredAt = details.expiredAt;
    this.tokenAudience = details.tokenAudience;
  }
}
