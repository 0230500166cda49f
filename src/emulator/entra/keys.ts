/**
 * The emulated tenant's signing keys: one RSA key signs access and ID tokens (published as the
 * JWKS), a second plays an external OIDC issuer for workload-identity federation tests. Keys are
 * made fresh per emulator run and never leave the process except as public JWKs.
 */
import { calculateJwkThumbprint, createLocalJWKSet, exportJWK, generateKeyPair, type CryptoKey, type JSONWebKeySet, type JWK } from 'jose';

export interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

export async function createSigningKey(): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { modulusLength: 2048 });
  const jwk = await exportJWK(publicKey);
  // Entra's kids are opaque strings; a JWK thumbprint is a stable, unique choice.
  const kid = await calculateJwkThumbprint(jwk);
  return { kid, privateKey, publicJwk: { ...jwk, kid, use: 'sig', alg: 'RS256' } };
}

/** The public JWKS document for a set of keys. */
export function publicJwks(keys: readonly SigningKey[]): JSONWebKeySet {
  return { keys: keys.map((k) => ({ ...k.publicJwk })) };
}

/** A key resolver for jose's jwtVerify over the given keys (selects by kid). */
export function localKeyResolver(keys: readonly SigningKey[]): ReturnType<typeof createLocalJWKSet> {
  return createLocalJWKSet(publicJwks(keys));
}
