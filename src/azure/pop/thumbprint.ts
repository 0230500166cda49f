/**
 * RFC 7638 JWK thumbprint of an RSA public key. In Entra's proof-of-possession scheme it is the
 * key id: the client sends it in `req_cnf`, Entra copies it into the access token's `cnf.kid`,
 * and the cluster recomputes it from the SHR's `cnf.jwk` to check the two belong together.
 */
import { createHash } from 'node:crypto';

/** The public half of a PoP key, as a JWK with only the members RFC 7638 hashes. */
export interface RsaPublicJwk {
  kty: 'RSA';
  /** Modulus, base64url without padding. */
  n: string;
  /** Public exponent, base64url without padding ("AQAB" for 65537). */
  e: string;
}

/**
 * SHA-256 over `{"e":..,"kty":"RSA","n":..}` (RFC 7638 §3.2: the required members only, in
 * lexicographic order, no whitespace), base64url without padding. Other members such as `alg`
 * or `kid` must not change the result, so they are ignored.
 */
export function jwkThumbprint(jwk: { n: string; e: string }): string {
  // JSON.stringify writes exactly the canonical form: fixed member order, no spaces.
  const canonical = JSON.stringify({ e: jwk.e, kty: 'RSA', n: jwk.n });
  return createHash('sha256').update(canonical, 'utf8').digest('base64url');
}
