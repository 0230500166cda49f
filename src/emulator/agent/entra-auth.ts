/**
 * kube-aad-proxy's decision for one request: an Entra token (recognised by its issuer) is
 * verified and turned into an impersonated identity; any other bearer token is the apiserver's
 * business and passes through untouched.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { createLocalJWKSet, decodeJwt, errors, jwtVerify, type JSONWebKeySet, type JWTPayload } from 'jose';
import { ARC_SERVER_APP_ID } from '../../azure/cloud.js';
import type { AgentStatus } from './status.js';

/** Arc's own wording for tokens whose groups did not fit (Entra's "overage" indication). */
export const OVERAGE_MESSAGE = 'Error while retrieving group info. Error:Overage claim (users with more than 200 group membership) is currently not supported.';

/** Entra puts at most this many groups in a token; more means overage. */
const MAX_GROUPS = 200;

export interface EntraTrust {
  tenantId: string;
  issuer: string;
  jwks: { keys: object[] };
}

export type AuthDecision =
  /** Verified Entra caller: forward as the agent, impersonating `user` and `groups`. */
  | { mode: 'entra'; user: string; groups: string[] }
  /** Not an Entra token (or none): forward the request as it came. */
  | { mode: 'passthrough' }
  | { mode: 'rejected'; status: AgentStatus };

export type Authenticator = (headers: IncomingHttpHeaders) => Promise<AuthDecision>;

const unauthorized = (message: string): AuthDecision => ({
  mode: 'rejected',
  status: { code: 401, reason: 'Unauthorized', message },
});

export function createEntraAuthenticator(trust: EntraTrust, now: () => number = Date.now): Authenticator {
  const keySet = createLocalJWKSet(trust.jwks as JSONWebKeySet);

  return async (headers) => {
    const token = bearerToken(headers.authorization);
    if (token === undefined || unverifiedIssuer(token) !== trust.issuer) return { mode: 'passthrough' };

    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, keySet, {
        issuer: trust.issuer,
        audience: ARC_SERVER_APP_ID,
        algorithms: ['RS256'],
        currentDate: new Date(now()),
      }));
    } catch (err) {
      return unauthorized(`Unauthorized: the Microsoft Entra token was rejected: ${describeVerifyError(err)}.`);
    }

    if (payload.tid !== trust.tenantId) {
      return unauthorized(
        `Unauthorized: the Microsoft Entra token was issued by tenant ${String(payload.tid ?? '(none)')}, not by this cluster's tenant ${trust.tenantId}.`,
      );
    }
    if (typeof payload.oid !== 'string' || payload.oid === '') {
      return unauthorized('Unauthorized: the Microsoft Entra token has no "oid" (object id) claim to identify the caller.');
    }
    if (hasOverage(payload)) return unauthorized(OVERAGE_MESSAGE);

    // A client must not choose its own identity: the agent impersonates on its behalf.
    const chosen = Object.keys(headers).filter((name) => name.toLowerCase().startsWith('impersonate-'));
    if (chosen.length > 0) {
      return {
        mode: 'rejected',
        status: {
          code: 403,
          reason: 'Forbidden',
          message: `Forbidden: impersonation headers (${chosen.join(', ')}) are not allowed with a Microsoft Entra token; the cluster agent sets the caller's identity itself.`,
        },
      };
    }

    const groups = Array.isArray(payload.groups) ? payload.groups.filter((g): g is string => typeof g === 'string') : [];
    return { mode: 'entra', user: payload.oid, groups };
  };
}

function bearerToken(header: string | undefined): string | undefined {
  const match = header === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1];
}

/** The issuer only routes the request; nothing is trusted until the signature is verified. */
function unverifiedIssuer(token: string): string | undefined {
  try {
    const iss = decodeJwt(token).iss;
    return typeof iss === 'string' ? iss : undefined;
  } catch {
    return undefined; // not a JWT: some other kind of bearer token
  }
}

function hasOverage(payload: JWTPayload): boolean {
  const claimNames = payload._claim_names;
  if (claimNames && typeof claimNames === 'object' && 'groups' in claimNames) return true;
  if (payload.hasgroups === true) return true;
  return Array.isArray(payload.groups) && payload.groups.length > MAX_GROUPS;
}

/** Says what was wrong without repeating the token or its claims' values. */
function describeVerifyError(err: unknown): string {
  if (err instanceof errors.JWTExpired) return 'it has expired';
  if (err instanceof errors.JWTClaimValidationFailed) {
    switch (err.claim) {
      case 'aud':
        return `its audience is not the Azure Arc server application (${ARC_SERVER_APP_ID})`;
      case 'iss':
        return 'its issuer is not trusted';
      case 'nbf':
        return 'it is not valid yet';
      case 'iat':
        return 'its issue time is invalid';
      default:
        return `its "${err.claim}" claim is invalid (${err.reason})`;
    }
  }
  if (err instanceof errors.JWSSignatureVerificationFailed) return 'its signature is invalid';
  if (err instanceof errors.JWKSNoMatchingKey) return 'it was not signed by a key of the tenant';
  if (err instanceof errors.JOSEAlgNotAllowed) return 'it is not signed with RS256';
  return 'it is malformed';
}
