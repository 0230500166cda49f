/**
 * The claims of the tokens the emulated Entra ID issues, as pure functions of principal, audience
 * and time, so they can be checked without signing anything.
 */
import { randomBytes } from 'node:crypto';
import type { SeedPrincipal } from '../seed.js';
import type { PopConfirmation } from './pop.js';

/** Entra puts at most this many groups in a JWT; beyond it the token carries an overage claim. */
export const GROUP_CLAIM_LIMIT = 200;

export interface AccessTokenClaims {
  aud: string;
  iss: string;
  iat: number;
  nbf: number;
  exp: number;
  tid: string;
  oid: string;
  sub: string;
  ver: '2.0';
  uti: string;
  idtyp: 'app' | 'user';
  /** Service principals: the application (client) id, as v1 (`appid`) and v2 (`azp`) name it. */
  appid?: string;
  azp?: string;
  /** Users. */
  upn?: string;
  preferred_username?: string;
  name?: string;
  scp?: string;
  groups?: string[];
  _claim_names?: { groups: string };
  _claim_sources?: { src1: { endpoint: string } };
  /** Proof of possession (RFC 7800): the key the token is bound to, for token_type=pop requests. */
  cnf?: PopConfirmation;
}

export interface IdTokenClaims {
  aud: string;
  iss: string;
  iat: number;
  nbf: number;
  exp: number;
  tid: string;
  oid: string;
  sub: string;
  ver: '2.0';
  name: string;
  preferred_username: string;
  uti: string;
}

export interface TokenContext {
  issuer: string;
  tenantId: string;
  audience: string;
  /** The application that asked for the token (for users: the public client, e.g. Azure CLI). */
  clientId: string;
  nowSeconds: number;
  lifetimeSeconds: number;
  /** Set for a proof-of-possession request: the access token is bound to this key. */
  cnf?: PopConfirmation;
}

/** An unverifiable-but-unique token id, in the shape of Entra's `uti` (22 base64url chars). */
function tokenId(): string {
  return randomBytes(16).toString('base64url');
}

/** A user's display name: the seed has none, so the UPN's local part stands in. */
export function displayName(user: SeedPrincipal): string {
  return (user.upn ?? user.name).split('@')[0] ?? user.name;
}

function groupClaims(principal: SeedPrincipal, tenantId: string): Pick<AccessTokenClaims, 'groups' | '_claim_names' | '_claim_sources'> {
  const groups = principal.groups ?? [];
  if (groups.length === 0) return {};
  if (groups.length <= GROUP_CLAIM_LIMIT) return { groups: [...groups] };
  const kind = principal.kind === 'user' ? 'users' : 'servicePrincipals';
  return {
    _claim_names: { groups: 'src1' },
    _claim_sources: { src1: { endpoint: `https://graph.windows.net/${tenantId}/${kind}/${principal.objectId}/getMemberObjects` } },
  };
}

export function accessTokenClaims(principal: SeedPrincipal, ctx: TokenContext): AccessTokenClaims {
  const base = {
    aud: ctx.audience,
    iss: ctx.issuer,
    iat: ctx.nowSeconds,
    nbf: ctx.nowSeconds,
    exp: ctx.nowSeconds + ctx.lifetimeSeconds,
    tid: ctx.tenantId,
    oid: principal.objectId,
    sub: principal.objectId,
    ver: '2.0' as const,
    uti: tokenId(),
    ...(ctx.cnf ? { cnf: { kid: ctx.cnf.kid, xms_ksl: ctx.cnf.xms_ksl } } : {}),
  };
  if (principal.kind === 'servicePrincipal') {
    return { ...base, idtyp: 'app', appid: ctx.clientId, azp: ctx.clientId, ...groupClaims(principal, ctx.tenantId) };
  }
  const upn = principal.upn ?? principal.name;
  return {
    ...base,
    idtyp: 'user',
    azp: ctx.clientId,
    upn,
    preferred_username: upn,
    name: displayName(principal),
    scp: 'user_impersonation',
    ...groupClaims(principal, ctx.tenantId),
  };
}

export function idTokenClaims(user: SeedPrincipal, ctx: Omit<TokenContext, 'audience'>): IdTokenClaims {
  const upn = user.upn ?? user.name;
  return {
    aud: ctx.clientId,
    iss: ctx.issuer,
    iat: ctx.nowSeconds,
    nbf: ctx.nowSeconds,
    exp: ctx.nowSeconds + ctx.lifetimeSeconds,
    tid: ctx.tenantId,
    oid: user.objectId,
    sub: user.objectId,
    ver: '2.0',
    name: displayName(user),
    preferred_username: upn,
    uti: tokenId(),
  };
}

/** MSAL's `client_info`: base64url JSON naming the account (uid) and its home tenant (utid). */
export function clientInfo(user: SeedPrincipal, tenantId: string): string {
  return Buffer.from(JSON.stringify({ uid: user.objectId, utid: tenantId })).toString('base64url');
}

/** Opaque one-off values (refresh tokens, device codes); random enough not to be guessed. */
export function opaqueToken(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}
