/**
 * Signs and verifies the emulated tenant's JWTs. Verification is what the emulated ARM (and the
 * cluster agent) do with Entra access tokens: signature against the tenant's keys, issuer,
 * audience and lifetime, with failures typed by code.
 */
import { SignJWT, errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';
import type { AccessTokenClaims } from './claims.js';
import { TokenValidationError } from './errors.js';
import { localKeyResolver, type SigningKey } from './keys.js';

export async function signJwt(key: SigningKey, claims: object): Promise<string> {
  return new SignJWT(claims as JWTPayload).setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: key.kid }).sign(key.privateKey);
}

export interface VerifyOptions {
  /** Accepted audiences: the token's `aud` must equal one of them. */
  audience: string | string[];
  nowMs: number;
}

/** Verifies a JWT signed by one of `keys`; throws TokenValidationError. */
export async function verifyJwt(keys: readonly SigningKey[], token: string, opts: VerifyOptions): Promise<JWTPayload> {
  try {
    const { payload } = await jwtVerify(token, localKeyResolver(keys), {
      algorithms: ['RS256'],
      audience: opts.audience,
      currentDate: new Date(opts.nowMs),
      requiredClaims: ['exp', 'iat', 'iss', 'aud'],
    });
    return payload;
  } catch (err) {
    throw toValidationError(err);
  }
}

/** Verifies an access token of the emulated tenant, including the v2 issuer form. */
export async function verifyAccessTokenWith(keys: readonly SigningKey[], token: string, opts: VerifyOptions): Promise<AccessTokenClaims> {
  const payload = await verifyJwt(keys, token, opts);
  const tid = typeof payload.tid === 'string' ? payload.tid : '';
  // The issuer's host is however the client reached the emulator; its path must name the tenant.
  if (!tid || typeof payload.iss !== 'string' || !payload.iss.endsWith(`/${tid}/v2.0`)) {
    throw new TokenValidationError('BAD_ISSUER', 'The token was not issued for this tenant.');
  }
  if (typeof payload.oid !== 'string') throw new TokenValidationError('MALFORMED', 'The token has no object id (oid).');
  return payload as unknown as AccessTokenClaims;
}

function toValidationError(err: unknown): TokenValidationError {
  if (err instanceof joseErrors.JWTExpired) {
    const exp = typeof err.payload.exp === 'number' ? err.payload.exp : undefined;
    return new TokenValidationError('EXPIRED', 'The token has expired.', exp === undefined ? {} : { expiredAt: exp });
  }
  if (err instanceof joseErrors.JWTClaimValidationFailed) {
    if (err.claim === 'aud') {
      const aud = err.payload.aud;
      return new TokenValidationError('BAD_AUDIENCE', 'The token was issued for another audience.', {
        tokenAudience: Array.isArray(aud) ? aud.join(',') : (aud ?? ''),
      });
    }
    if (err.claim === 'nbf' || err.claim === 'iat') return new TokenValidationError('NOT_YET_VALID', 'The token is not valid yet.');
    return new TokenValidationError('MALFORMED', `The token's "${err.claim}" claim is invalid.`);
  }
  if (err instanceof joseErrors.JWSSignatureVerificationFailed || err instanceof joseErrors.JWKSNoMatchingKey) {
    return new TokenValidationError('BAD_SIGNATURE', 'The token signature is invalid.');
  }
  return new TokenValidationError('MALFORMED', 'The token is not a well-formed JWT.');
}
