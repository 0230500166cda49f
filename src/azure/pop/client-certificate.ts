/**
 * Certificate credentials for a service principal: the PEM file AZURE_CLIENT_CERTIFICATE_PATH
 * names (certificate and private key, the key optionally encrypted) and the client assertion made
 * from it, in Entra's documented format (learn.microsoft.com/entra/identity-platform/certificate-credentials):
 * a JWT signed RS256 with the certificate's key, header `x5t#S256` and `x5t` (base64url SHA-256
 * and SHA-1 of the certificate's DER), claims `aud` = the token endpoint, `iss` = `sub` = the
 * client id, a random `jti`, `nbf` now and `exp` ten minutes on.
 */
import { X509Certificate, createHash, createPrivateKey, randomUUID, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { SignJWT } from 'jose';
import { ArcproxyError } from '../../errors/index.js';

/** How long an assertion is good for: one token request, with room for a slow network. */
export const ASSERTION_LIFETIME_SECONDS = 10 * 60;

export interface ClientCertificate {
  certificate: X509Certificate;
  privateKey: KeyObject;
  /** base64url SHA-1 of the DER. */
  x5t: string;
  /** base64url SHA-256 of the DER. */
  x5tS256: string;
}

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?-----END \1-----/g;
const KEY_LABELS = new Set(['PRIVATE KEY', 'RSA PRIVATE KEY', 'ENCRYPTED PRIVATE KEY', 'EC PRIVATE KEY']);

/** The certificate file itself is unusable: the user's to fix (exit 2), not a failed sign-in. */
export class ClientCertificateError extends ArcproxyError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ARCPROXY_BAD_CLIENT_CERTIFICATE', message, options);
    this.name = 'ClientCertificateError';
  }
}

function certificateError(what: string, cause?: unknown): ClientCertificateError {
  return new ClientCertificateError(`The client certificate PEM (AZURE_CLIENT_CERTIFICATE_PATH) ${what}`, cause === undefined ? {} : { cause });
}

/**
 * Reads the certificate and private key from one PEM text. The certificate used is the one whose
 * public key belongs to the private key (a file may carry its chain too). Messages never quote
 * the file's contents or the password.
 */
export function parseClientCertificate(pem: string, password?: string): ClientCertificate {
  const blocks = [...pem.matchAll(PEM_BLOCK)].map((m) => ({ label: m[1]!, text: m[0] }));
  const certBlocks = blocks.filter((b) => b.label === 'CERTIFICATE');
  const keyBlock = blocks.find((b) => KEY_LABELS.has(b.label));
  if (certBlocks.length === 0) {
    throw certificateError('holds no certificate (-----BEGIN CERTIFICATE-----); it must be a PEM file with the certificate and its private key (not PFX).');
  }
  if (!keyBlock) {
    throw certificateError(
      'contains a certificate but no private key; it must hold the certificate and its private key (-----BEGIN PRIVATE KEY-----) in one PEM file.',
    );
  }

  const encrypted = keyBlock.label === 'ENCRYPTED PRIVATE KEY' || /Proc-Type:\s*4,ENCRYPTED/.test(keyBlock.text);
  if (encrypted && !password) throw certificateError('holds an encrypted private key: set AZURE_CLIENT_CERTIFICATE_PASSWORD.');
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key: keyBlock.text, format: 'pem', ...(encrypted ? { passphrase: password } : {}) });
  } catch (err) {
    // node:crypto's messages name the OpenSSL failure, never the key or the passphrase.
    throw certificateError(encrypted ? 'private key cannot be decrypted: is the password right?' : 'private key cannot be read.', err);
  }
  if (privateKey.asymmetricKeyType !== 'rsa') {
    throw certificateError(`has a ${privateKey.asymmetricKeyType ?? 'non-RSA'} key; Microsoft Entra ID takes RSA certificates for sign-in.`);
  }

  let certificate: X509Certificate | undefined;
  for (const block of certBlocks) {
    let candidate: X509Certificate;
    try {
      candidate = new X509Certificate(block.text);
    } catch (err) {
      throw certificateError('has a certificate that cannot be parsed.', err);
    }
    if (candidate.checkPrivateKey(privateKey)) {
      certificate = candidate;
      break;
    }
  }
  if (!certificate) throw certificateError('has no certificate that belongs to its private key: the key and certificate are from different pairs.');
  return { certificate, privateKey, ...certificateThumbprints(certificate) };
}

/**
 * Reads and checks the file AZURE_CLIENT_CERTIFICATE_PATH names before any sign-in uses it, so a
 * file without its key (or with a key of another pair) is named as such, not reported by the
 * sign-in library as a signing failure.
 */
export async function loadClientCertificateFile(path: string, password?: string): Promise<ClientCertificate> {
  let pem: string;
  try {
    pem = await readFile(path, 'utf8');
  } catch (err) {
    throw new ClientCertificateError(`AZURE_CLIENT_CERTIFICATE_PATH names ${path}, which cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'}).`, {
      cause: err,
    });
  }
  return parseClientCertificate(pem, password);
}

/**
 * base64url SHA-1 and SHA-256 of a certificate's DER: the `x5t` and `x5t#S256` an assertion names
 * it by. The emulated Entra checks assertions with this same function, so both ends agree.
 */
export function certificateThumbprints(certificate: X509Certificate): { x5t: string; x5tS256: string } {
  return {
    x5t: createHash('sha1').update(certificate.raw).digest('base64url'),
    x5tS256: createHash('sha256').update(certificate.raw).digest('base64url'),
  };
}

/** A fresh client assertion for one token request to `tokenEndpoint`. */
export async function certificateAssertion(cert: ClientCertificate, clientId: string, tokenEndpoint: string, nowSec: number): Promise<string> {
  const now = Math.floor(nowSec);
  return new SignJWT({ aud: tokenEndpoint, iss: clientId, sub: clientId, jti: randomUUID(), nbf: now, exp: now + ASSERTION_LIFETIME_SECONDS })
    .setProtectedHeader({ alg: 'RS256', typ: 'JWT', x5t: cert.x5t, 'x5t#S256': cert.x5tS256 })
    .sign(cert.privateKey);
}
