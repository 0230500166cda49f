/**
 * The signed HTTP request (SHR) an Arc cluster's proxy wants as the bearer token when it
 * enforces proof of possession: the PoP access token, wrapped with a time stamp and the
 * cluster's ARM id, signed with the PoP key. The layout is kubelogin's
 * (pkg/internal/pop/authnscheme.go), the public client Arc documents for PoP.
 */
import { randomBytes, sign } from 'node:crypto';
import { ArcproxyError } from '../../errors/index.js';
import type { PopKey } from './pop-key.js';

export interface ShrInput {
  /** The access token Entra issued with token_type=pop for this key. */
  accessToken: string;
  /** The connected cluster's ARM id; it goes into `u` unchanged (the cluster compares it case-insensitively). */
  clusterArmId: string;
  key: PopKey;
  /** Signing time in Unix seconds. A cluster accepts the SHR for 15 minutes after it. */
  nowSec: number;
  /** Defaults to 32 random hex characters, the shape of kubelogin's dash-less UUID. */
  nonce?: string;
}

/**
 * Returns the compact JWS `header.payload.signature` (RS256). Header and payload members are
 * written in kubelogin's order: `{typ,alg,kid}` and `{at,ts,u,cnf:{jwk:{e,kty,n,alg,kid}},nonce}`.
 * One RSA signature per call (about a millisecond), so callers sign on a timer, not per request.
 */
export function signShr(input: ShrInput): string {
  const { key } = input;
  if (!Number.isFinite(input.nowSec)) throw new ArcproxyError('ARCPROXY_INTERNAL', 'An SHR needs a finite signing time.');

  const header = base64urlJson({ typ: 'pop', alg: 'RS256', kid: key.kid });
  const payload = base64urlJson({
    at: input.accessToken,
    ts: Math.floor(input.nowSec),
    u: input.clusterArmId,
    // RFC 7800 §3.2: the public key the signature is checked with; kubelogin adds alg and kid to it.
    cnf: { jwk: { e: key.publicJwk.e, kty: 'RSA', n: key.publicJwk.n, alg: 'RS256', kid: key.kid } },
    nonce: input.nonce ?? randomBytes(16).toString('hex'),
  });
  const signingInput = `${header}.${payload}`;
  // RSA keys sign with RSASSA-PKCS1-v1_5 by default: that is RS256 with SHA-256.
  const signature = sign('sha256', Buffer.from(signingInput, 'ascii'), key.privateKey).toString('base64url');
  return `${signingInput}.${signature}`;
}

function base64urlJson(value: object): string {
  return Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
}
