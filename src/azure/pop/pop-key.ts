/**
 * The proof-of-possession key: an RSA-2048 key pair whose RFC 7638 thumbprint is the key id
 * Entra binds the access token to. Making one takes tens of milliseconds of CPU, so it can be
 * made off the main thread; the serialised form is plain data a worker can post back.
 */
import { createPrivateKey, createPublicKey, generateKeyPair, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import { ArcproxyError } from '../../errors/index.js';
import { jwkThumbprint, type RsaPublicJwk } from './thumbprint.js';

/** kubelogin (pkg/internal/pop/poptoken.go) and MSAL make 2048-bit keys; Entra accepts them. */
const POP_KEY_BITS = 2048;

export interface PopKey {
  /** RFC 7638 thumbprint of `publicJwk`: the key id in `req_cnf`, the SHR header and the token's `cnf.kid`. */
  readonly kid: string;
  readonly publicJwk: Readonly<RsaPublicJwk>;
  readonly privateKey: KeyObject;
}

/** Structured-clone-safe form of a PopKey, for postMessage between threads. */
export interface SerializedPopKey {
  kid: string;
  /** The private key, PKCS#8 PEM; the public half is derived from it. */
  pkcs8Pem: string;
}

/** A key handed over between threads was not the key it claimed to be: a bug, not a user error. */
export class PopKeyError extends ArcproxyError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ARCPROXY_POP_KEY_INVALID', message, options);
    this.name = 'PopKeyError';
  }
}

const generateRsaKeyPair = promisify(generateKeyPair);

/** Makes a fresh key; node:crypto does the work on the libuv thread pool. */
export async function createPopKey(): Promise<PopKey> {
  const { privateKey } = await generateRsaKeyPair('rsa', { modulusLength: POP_KEY_BITS, publicExponent: 0x10001 });
  return popKeyFrom(privateKey);
}

let prefetched: Promise<PopKey> | undefined;

/**
 * Starts making the next session's key now, as early as the CLI knows it will want one: key
 * generation (~140 ms of CPU) runs on libuv's thread pool while the main thread loads modules.
 */
export function prefetchPopKey(): void {
  if (prefetched) return;
  prefetched = createPopKey();
  prefetched.catch(() => undefined); // taken later, or never
}

/** The prefetched key (each is handed out once), or a new one. */
export function takePopKey(): Promise<PopKey> {
  const key = prefetched ?? createPopKey();
  prefetched = undefined;
  return key;
}

export function serializePopKey(key: PopKey): SerializedPopKey {
  return { kid: key.kid, pkcs8Pem: key.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string };
}

/** Rebuilds a key from its serialised form; the kid is recomputed and must match the one sent. */
export function importPopKey(serialized: SerializedPopKey): PopKey {
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key: serialized.pkcs8Pem, format: 'pem' });
  } catch (err) {
    // The cause is node:crypto's parse error; it does not echo the key material.
    throw new PopKeyError('The proof-of-possession key handed over is not a PEM-encoded private key.', { cause: err });
  }
  const key = popKeyFrom(privateKey);
  if (key.kid !== serialized.kid) {
    throw new PopKeyError(`The proof-of-possession key handed over has key id ${key.kid}, not the ${serialized.kid} it was sent with.`);
  }
  return key;
}

/**
 * The `req_cnf` token-request parameter: base64url (no padding) of `{"kid":..,"xms_ksl":"sw"}`,
 * members in that order, as kubelogin (poptoken.go getReqCnf) and MSAL's PopTokenGenerator send
 * it. `xms_ksl: "sw"` tells Entra the private key lives in software, not in a TPM.
 */
export function reqCnf(kid: string): string {
  return Buffer.from(JSON.stringify({ kid, xms_ksl: 'sw' }), 'utf8').toString('base64url');
}

function popKeyFrom(privateKey: KeyObject): PopKey {
  const bits = privateKey.asymmetricKeyDetails?.modulusLength ?? 0;
  if (privateKey.type !== 'private' || privateKey.asymmetricKeyType !== 'rsa' || bits < POP_KEY_BITS) {
    const kind = privateKey.asymmetricKeyType === 'rsa' ? `an RSA-${bits} key` : `a key of type ${privateKey.asymmetricKeyType ?? privateKey.type}`;
    throw new PopKeyError(`A proof-of-possession key must be an RSA private key of at least ${POP_KEY_BITS} bits; this is ${kind}.`);
  }
  const { n, e } = createPublicKey(privateKey).export({ format: 'jwk' });
  if (typeof n !== 'string' || typeof e !== 'string') throw new PopKeyError('node:crypto exported an RSA public key without n and e.');
  const publicJwk: RsaPublicJwk = Object.freeze({ kty: 'RSA', n, e });
  return Object.freeze({ kid: jwkThumbprint(publicJwk), publicJwk, privateKey });
}
