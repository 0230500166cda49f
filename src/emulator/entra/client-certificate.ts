/**
 * Certificate credentials: a service principal signs in with a JWT it signs with its
 * certificate's private key, sent as `client_assertion`. The rules are Entra's documented
 * certificate-credential format (learn.microsoft.com/entra/identity-platform/certificate-credentials):
 * header `alg` RS256 or PS256 with the certificate's `x5t#S256` (base64url SHA-256 of the DER) or
 * `x5t` (SHA-1); claims `aud` = the token endpoint, `iss` = `sub` = the client id, `exp`, `nbf`
 * and `jti`. The seed holds the public certificate (PEM) of the principal.
 */
import { X509Certificate, createHash } from 'node:crypto';
import { decodeJwt, decodeProtectedHeader, errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';
import type { SeedPrincipal } from '../seed.js';
import { oauthErrors } from './errors.js';

const CERTIFICATE_ASSERTION_ALGORITHMS = ['RS256', 'PS256'];

/**
 * Clock skew allowed on `exp` and `nbf`. Assumed: five minutes, Microsoft.IdentityModel's default.
 * Some skew is needed in any case: MSAL rounds the current time to the nearest second for `nbf`.
 */
const ASSERTION_CLOCK_SKEW_SECONDS = 300;

/**
 * Whether an assertion is one the client signed for itself (iss = sub, as a certificate assertion
 * has) rather than a federated token from another issuer. Unverified: only picks the check to run.
 */
export function isSelfIssuedAssertion(assertion: string): boolean {
  try {
    const claims = decodeJwt(assertion);
    return typeof claims.iss === 'string' && claims.iss !== '' && claims.iss === claims.sub;
  } catch {
    return false;
  }
}

export interface CertificateAssertionContext {
  clientId: string;
  /** The token endpoint URLs the assertion may be addressed to (as the client reached us). */
  tokenEndpoints: readonly string[];
  nowMs: number;
}

/** Verifies a certificate assertion for `principal`; throws the OAuthError Entra would answer. */
export async function verifyCertificateAssertion(assertion: string, principal: SeedPrincipal, ctx: CertificateAssertionContext): Promise<void> {
  let header;
  let claims: JWTPayload;
  try {
    header = decodeProtectedHeader(assertion);
    claims = decodeJwt(assertion);
  } catch {
    throw oauthErrors.assertionMalformed('The client assertion is not a signed JWT.');
  }
  if (typeof header.alg !== 'string' || !CERTIFICATE_ASSERTION_ALGORITHMS.includes(header.alg)) {
    throw oauthErrors.assertionMalformed(`Client assertion algorithm '${String(header.alg)}' is not supported; use RS256 or PS256.`);
  }
  const named = presentedThumbprint(header);
  if (!named) throw oauthErrors.assertionNoThumbprint();

  const sameClient = (v: unknown) => typeof v === 'string' && v.toLowerCase() === ctx.clientId.toLowerCase();
  if (!sameClient(claims.iss) || !sameClient(claims.sub)) throw oauthErrors.assertionClientMismatch();

  const certificate = principal.clientCertificate ? new X509Certificate(principal.clientCertificate) : undefined;
  if (!certificate || !thumbprintMatches(certificate, named)) throw oauthErrors.assertionKeyNotFound(named.hex, ctx.clientId);

  try {
    await jwtVerify(assertion, certificate.publicKey, {
      algorithms: CERTIFICATE_ASSERTION_ALGORITHMS,
      currentDate: new Date(ctx.nowMs),
      clockTolerance: ASSERTION_CLOCK_SKEW_SECONDS,
      requiredClaims: ['exp', 'nbf'],
    });
  } catch (err) {
    if (err instanceof joseErrors.JWTExpired) throw oauthErrors.assertionExpired();
    if (err instanceof joseErrors.JWTClaimValidationFailed) {
      if (err.reason === 'missing') throw oauthErrors.assertionMalformed(`The client assertion needs the "${err.claim}" claim.`);
      if (err.claim === 'nbf') throw oauthErrors.assertionExpired();
      throw oauthErrors.assertionMalformed(`The client assertion's "${err.claim}" claim is not valid.`);
    }
    if (err instanceof joseErrors.JWSSignatureVerificationFailed) throw oauthErrors.assertionBadSignature(named.hex);
    throw oauthErrors.assertionMalformed('The client assertion could not be verified.');
  }
  const audiences = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
  const endpoints = ctx.tokenEndpoints.map((e) => e.toLowerCase());
  if (!audiences.some((a) => typeof a === 'string' && endpoints.includes(a.toLowerCase()))) throw oauthErrors.assertionAudience();
  if (typeof claims.jti !== 'string' || claims.jti === '') throw oauthErrors.assertionMalformed('The client assertion needs a "jti" claim.');
}

interface PresentedThumbprint {
  algorithm: 'sha256' | 'sha1';
  bytes: Buffer;
  /** As Entra prints thumbprints in its messages: upper-case hex. */
  hex: string;
}

function presentedThumbprint(header: Record<string, unknown>): PresentedThumbprint | undefined {
  const s256 = header['x5t#S256'];
  const s1 = header.x5t;
  const pick =
    typeof s256 === 'string' && s256 !== ''
      ? { algorithm: 'sha256' as const, value: s256 }
      : typeof s1 === 'string' && s1 !== ''
        ? { algorithm: 'sha1' as const, value: s1 }
        : undefined;
  if (!pick) return undefined;
  // Node decodes both base64 alphabets; clients send base64url, some older ones standard base64.
  const bytes = Buffer.from(pick.value, 'base64url');
  return { algorithm: pick.algorithm, bytes, hex: bytes.toString('hex').toUpperCase() };
}

function thumbprintMatches(certificate: X509Certificate, presented: PresentedThumbprint): boolean {
  return createHash(presented.algorithm).update(certificate.raw).digest().equals(presented.bytes);
}
