/**
 * What an Arc cluster's kube-aad-proxy enforces with `enforcePoP` on (the default): the bearer
 * token must be a signed HTTP request (SHR) wrapping an Entra access token that is bound to the
 * SHR's key. Microsoft's proxy is closed source; the rules follow kubeguard/guard's public PoP
 * verifier (auth/providers/azure/pop_tokenverifier.go, ValidatePopToken and
 * verifyAccessTokenClaims), which checks the same contract for Azure RBAC.
 */
import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import type { JWTPayload } from 'jose';
import { jwkThumbprint } from '../../azure/pop/thumbprint.js';

/** guard's default for --azure.pop-token-validity-duration: an SHR is good for 15 minutes after its ts. */
export const POP_VALIDITY_MS = 15 * 60 * 1000;

export type PopRejectionReason =
  /** Not a compact JWS with JSON header and payload. */
  | 'POP_NOT_SHR'
  /** typ is not "pop", alg is not RS256, or kid is missing. */
  | 'POP_BAD_HEADER'
  /** cnf.jwk is missing or is not an RSA public key. */
  | 'POP_BAD_KEY'
  /** The signature does not verify under cnf.jwk. */
  | 'POP_BAD_SIGNATURE'
  /** ts is missing or more than the validity period old. */
  | 'POP_STALE'
  /** u is missing or names another cluster. */
  | 'POP_WRONG_HOST'
  /** at is missing, or the access-token check supplied by the caller rejected it. */
  | 'POP_BAD_ACCESS_TOKEN'
  /** The access token is not bound (cnf.kid) to the key that signed the SHR. */
  | 'POP_KEY_MISMATCH';

export type PopVerification = { ok: true; kid: string; claims: JWTPayload } | { ok: false; reason: PopRejectionReason; message: string };

/** The caller's verdict on the inner access token (signature, issuer, audience, lifetime). */
export type AccessTokenCheck = { ok: true; claims: JWTPayload } | { ok: false; message: string };

export interface PopVerifierOptions {
  /** This cluster's ARM id: what `u` must name. */
  clusterArmId: string;
  /** Verifies `at` as an Entra access token; its message must not contain the token. */
  verifyAccessToken: (accessToken: string) => Promise<AccessTokenCheck>;
  /** Milliseconds since the epoch. */
  now?: () => number;
  validityMs?: number;
}

export type PopVerifier = (token: string) => Promise<PopVerification>;

const reject = (reason: PopRejectionReason, message: string): PopVerification => ({ ok: false, reason, message });

/**
 * Checks run header, key, signature, ts, u, at, binding. guard reads ts and u before the
 * signature; here the signature comes first so no claim of a forged payload is reported as if it
 * were true. The order only decides which reason a token that breaks several rules gets.
 */
export function createPopVerifier(options: PopVerifierOptions): PopVerifier {
  const now = options.now ?? Date.now;
  const validityMs = options.validityMs ?? POP_VALIDITY_MS;
  const cluster = options.clusterArmId.toLowerCase();

  return async (token) => {
    const jws = parseCompactJws(token);
    if (jws === undefined) {
      return reject(
        'POP_NOT_SHR',
        'The bearer token is not a proof-of-possession token: a PoP token is a signed HTTP request, a JWS of three base64url parts.',
      );
    }
    const { header, payload } = jws;

    const headerProblem = checkHeader(header);
    if (headerProblem !== undefined) return reject('POP_BAD_HEADER', headerProblem);

    const key = rsaPublicKey(isObject(payload.cnf) ? payload.cnf.jwk : undefined);
    if (key === undefined) {
      return reject('POP_BAD_KEY', 'The PoP token carries no usable RSA public key in cnf.jwk (it needs string members n and e).');
    }

    if (!signatureValid(jws, key.keyObject)) {
      return reject(
        'POP_BAD_SIGNATURE',
        'The PoP token signature does not verify with the RS256 key in its own cnf.jwk: it was altered or signed with another key.',
      );
    }

    // guard takes ts as a number or a numeric string; anything else counts as the epoch, i.e. expired.
    if (!('ts' in payload)) return reject('POP_STALE', 'The PoP token has no "ts" (signing time) claim.');
    const tsMs = signingTimeSec(payload.ts) * 1000;
    // Like guard, only the age is bounded: a ts in the future is accepted (no clock-skew limit).
    const nowMs = now();
    if (tsMs + validityMs < nowMs) {
      const ageSec = Math.floor((nowMs - tsMs) / 1000);
      return reject('POP_STALE', `The PoP token is stale: it was signed ${ageSec} s ago and is accepted for ${validityMs / 1000} s; sign a fresh one.`);
    }

    if (typeof payload.u !== 'string') return reject('POP_WRONG_HOST', 'The PoP token has no "u" claim naming the cluster it is for.');
    if (payload.u.toLowerCase() !== cluster) {
      return reject('POP_WRONG_HOST', `The PoP token is for ${quote(payload.u)}, not for this cluster ${quote(options.clusterArmId)}.`);
    }

    if (typeof payload.at !== 'string' || payload.at === '') return reject('POP_BAD_ACCESS_TOKEN', 'The PoP token carries no access token ("at" claim).');
    const at = payload.at;
    let check: AccessTokenCheck;
    try {
      check = await options.verifyAccessToken(at);
    } catch (err) {
      check = { ok: false, message: err instanceof Error ? err.message : String(err) };
    }
    if (!check.ok) {
      const why = redact(check.message, [at, token]);
      return reject('POP_BAD_ACCESS_TOKEN', `The access token inside the PoP token was rejected: ${why}`);
    }

    const bindingProblem = checkBinding(check.claims, key.thumbprint);
    if (bindingProblem !== undefined) return reject('POP_KEY_MISMATCH', bindingProblem);

    return { ok: true, kid: key.thumbprint, claims: check.claims };
  };
}

interface CompactJws {
  header: Record<string, unknown>;
  payload: Record<string, unknown>;
  signingInput: string;
  signature: Buffer;
}

function parseCompactJws(token: string): CompactJws | undefined {
  const parts = token.split('.');
  if (parts.length !== 3 || !parts.every((p) => /^[A-Za-z0-9_-]+$/.test(p))) return undefined;
  const [h, p, s] = parts as [string, string, string];
  const header = decodeJsonObject(h);
  const payload = decodeJsonObject(p);
  if (header === undefined || payload === undefined) return undefined;
  return { header, payload, signingInput: `${h}.${p}`, signature: Buffer.from(s, 'base64url') };
}

function decodeJsonObject(segment: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
    return isObject(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

/** guard: kid non-empty, alg exactly RS256, typ "pop" compared case-insensitively. */
function checkHeader(header: Record<string, unknown>): string | undefined {
  const { typ, alg, kid } = header;
  if (typeof typ !== 'string' || typ.toLowerCase() !== 'pop') {
    const hint =
      typeof typ === 'string' && typ.toUpperCase() === 'JWT' ? ' This is a plain bearer access token; this cluster enforces proof of possession.' : '';
    return `The PoP token header has typ ${quote(typ)}, not "pop".${hint}`;
  }
  if (alg !== 'RS256') return `The PoP token header has alg ${quote(alg)}; only RS256 is accepted.`;
  // guard does not compare kid with the key's thumbprint; it only has to be there.
  if (typeof kid !== 'string' || kid === '') return 'The PoP token header has no "kid".';
  return undefined;
}

function rsaPublicKey(jwk: unknown): { keyObject: KeyObject; thumbprint: string } | undefined {
  // guard reads only n and e from cnf.jwk; kty, alg and kid there are not checked.
  if (!isObject(jwk) || typeof jwk.n !== 'string' || typeof jwk.e !== 'string' || jwk.n === '' || jwk.e === '') return undefined;
  const { n, e } = jwk;
  try {
    return { keyObject: createPublicKey({ key: { kty: 'RSA', n, e }, format: 'jwk' }), thumbprint: jwkThumbprint({ n, e }) };
  } catch {
    return undefined;
  }
}

function signatureValid(jws: CompactJws, key: KeyObject): boolean {
  try {
    // RSASSA-PKCS1-v1_5 with SHA-256 (RS256) is node:crypto's default for RSA keys.
    return verify('sha256', Buffer.from(jws.signingInput, 'ascii'), key, jws.signature);
  } catch {
    return false;
  }
}

/** guard's convertTime: a number, or a string of digits; anything else is 0. */
function signingTimeSec(ts: unknown): number {
  if (typeof ts === 'number' && Number.isFinite(ts)) return Math.trunc(ts);
  if (typeof ts === 'string' && /^-?\d+$/.test(ts)) return Number.parseInt(ts, 10);
  return 0;
}

/**
 * Entra writes the PoP key's RFC 7638 thumbprint into the access token as `cnf: {"kid": ..}`
 * (with `xms_ksl` next to it): guard compares cnf.kid with the thumbprint of the SHR's jwk
 * (pop_tokenverifier.go verifyAccessTokenClaims; its test token has
 * `"cnf":{"kid":..,"xms_ksl":"sw"}`), and MSAL requires `cnf.kid` in every token_type=pop
 * response (msal-common CacheHelpers.createAccessTokenEntity, error
 * tokenClaimsCnfRequiredForSignedJwt; TokenClaims declares `cnf?: { kid: string }`).
 */
function checkBinding(claims: JWTPayload, thumbprint: string): string | undefined {
  const cnf = claims.cnf;
  if (cnf === undefined) {
    return 'The access token is not bound to any key (it has no "cnf" claim): it is a bearer token. Request it with token_type=pop and req_cnf for the key that signs the PoP token.';
  }
  const kid = isObject(cnf) ? cnf.kid : undefined;
  if (typeof kid !== 'string') return 'The access token\'s "cnf" claim has no string "kid" naming the key it is bound to.';
  if (kid !== thumbprint) {
    return `The access token is bound to key ${quote(kid)}, but the PoP token was signed with key ${quote(thumbprint)}: sign with the key the token was requested for.`;
  }
  return undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Echoes a claim the client chose, bounded so a hostile token cannot flood a message. */
function quote(value: unknown): string {
  if (value === undefined) return '(none)';
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return JSON.stringify(text.length > 200 ? `${text.slice(0, 200)}…` : text);
}

/** The caller's message must not carry a token; this makes sure of it. */
function redact(message: string, secrets: string[]): string {
  return secrets.reduce((text, secret) => (secret === '' ? text : text.split(secret).join('[token]')), message);
}
