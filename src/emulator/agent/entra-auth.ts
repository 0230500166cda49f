/**
 * kube-aad-proxy's decision for one request: an Entra caller (a proof-of-possession token, or a
 * plain Entra access token recognised by its issuer) is verified and turned into an impersonated
 * identity; any other bearer token is the apiserver's business and passes through untouched.
 *
 * Assumptions (kube-aad-proxy is closed source; no public source settles these):
 * - Refusals are 401 with a Kubernetes Status (which kubectl prints); the wording of every message
 *   is the emulator's own, not the real proxy's.
 * - The 401 comes from the cluster side (kube-aad-proxy behind the agent), as an HTTP answer on
 *   the relay stream: the relay checks only its SAS and never sees the bearer token.
 * - With `enforcePoP` off, a plain Entra token and a valid PoP token are both accepted; what the
 *   real proxy does with a PoP token then is not public.
 * - A token whose header says typ "pop" is always the proxy's to verify, never passed through, and
 *   is verified in both modes: an invalid one is refused even with `enforcePoP` off.
 * - With `enforcePoP` on, a plain Entra token (routed by its unverified issuer, as before) is
 *   refused without verifying it: being a bearer token is reason enough.
 * - The PoP rules themselves are guard's (see pop-verifier.ts); the inner access token gets the
 *   same checks and the same impersonation as a plain one.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { createLocalJWKSet, decodeJwt, decodeProtectedHeader, errors, jwtVerify, type JSONWebKeySet, type JWTPayload } from 'jose';
import { ARC_SERVER_APP_ID } from '../../azure/cloud.js';
import { createPopVerifier, type AccessTokenCheck } from './pop-verifier.js';
import type { AgentStatus } from './status.js';

/** Arc's own wording for tokens whose groups did not fit (Entra's "overage" indication). */
export const OVERAGE_MESSAGE = 'Error while retrieving group info. Error:Overage claim (users with more than 200 group membership) is currently not supported.';

/** What a cluster with `enforcePoP` on answers a plain Entra bearer token. */
export const POP_REQUIRED_MESSAGE =
  'Unauthorized: this cluster requires proof-of-possession (PoP) tokens (kube-aad-proxy enforcePoP is on), ' +
  'but the request carried a plain Microsoft Entra bearer token. ' +
  "Use arcproxy's PoP mode, or sign in with a credential source that can get PoP tokens " +
  '(a service principal or an interactive user sign-in; managed identity cannot).';

/** Entra puts at most this many groups in a token; more means overage. */
const MAX_GROUPS = 200;

export interface EntraTrust {
  tenantId: string;
  issuer: string;
  jwks: { keys: object[] };
}

/** What the agent knows about the cluster it serves. */
export interface ClusterPolicy {
  /**
   * `/subscriptions/<sub>/resourceGroups/<rg>/providers/Microsoft.Kubernetes/connectedClusters/<name>`,
   * as ARM returns it: what a PoP token's `u` must name.
   */
  armId: string;
  /** kube-aad-proxy's `enforcePoP`: refuse plain Entra bearer tokens. */
  enforcePoP: boolean;
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

export function createEntraAuthenticator(trust: EntraTrust, cluster: ClusterPolicy, now: () => number = Date.now): Authenticator {
  const keySet = createLocalJWKSet(trust.jwks as JSONWebKeySet);

  /** The Entra access-token checks: signature, issuer, audience, lifetime, tenant. Messages never hold the token. */
  const verifyAccessToken = async (token: string): Promise<AccessTokenCheck> => {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, keySet, {
        issuer: trust.issuer,
        audience: ARC_SERVER_APP_ID,
        algorithms: ['RS256'],
        currentDate: new Date(now()),
      }));
    } catch (err) {
      return { ok: false, message: `${describeVerifyError(err)}.` };
    }
    if (payload.tid !== trust.tenantId) {
      return { ok: false, message: `it was issued by tenant ${String(payload.tid ?? '(none)')}, not by this cluster's tenant ${trust.tenantId}.` };
    }
    return { ok: true, claims: payload };
  };

  // u is compared case-insensitively; ts is good for POP_VALIDITY_MS (15 minutes).
  const verifyPop = createPopVerifier({ clusterArmId: cluster.armId, verifyAccessToken, now });

  return async (headers) => {
    const token = bearerToken(headers.authorization);
    if (token === undefined) return { mode: 'passthrough' };

    if (isPopToken(token)) {
      const pop = await verifyPop(token);
      if (!pop.ok) return unauthorized(`Unauthorized: the proof-of-possession token was rejected (${pop.reason}): ${pop.message}`);
      return impersonation(pop.claims, headers);
    }

    if (unverifiedIssuer(token) !== trust.issuer) return { mode: 'passthrough' };
    if (cluster.enforcePoP) return unauthorized(POP_REQUIRED_MESSAGE);

    const check = await verifyAccessToken(token);
    if (!check.ok) return unauthorized(`Unauthorized: the Microsoft Entra token was rejected: ${check.message}`);
    return impersonation(check.claims, headers);
  };
}

/** The identity the agent impersonates for a verified Entra access token, exactly as for a plain one. */
function impersonation(payload: JWTPayload, headers: IncomingHttpHeaders): AuthDecision {
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
}

/** The unverified header routes the request: typ "pop" in any letter case (guard compares with EqualFold). */
function isPopToken(token: string): boolean {
  try {
    const { typ } = decodeProtectedHeader(token);
    return typeof typ === 'string' && typ.toLowerCase() === 'pop';
  } catch {
    return false; // not a JWS: some other kind of bearer token
  }
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
