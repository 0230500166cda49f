/**
 * An RSA certificate credential for tests: a self-signed certificate and its key, in the forms a
 * service principal's AZURE_CLIENT_CERTIFICATE_PATH file takes (certificate and key in one PEM,
 * optionally with the key encrypted), and a client assertion signed with it.
 */
import { createHash, createPrivateKey, randomBytes, randomUUID, webcrypto, type KeyObject } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { SignJWT } from 'jose';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

export interface TestCertificate {
  certPem: string;
  keyPem: string;
  privateKey: KeyObject;
  /** base64url SHA-256 and SHA-1 of the DER. */
  x5tS256: string;
  x5t: string;
}

const RSA = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256', publicExponent: new Uint8Array([1, 0, 1]), modulusLength: 2048 };

export async function makeRsaCertificate(name = 'arcproxy test client'): Promise<TestCertificate> {
  const keys = (await webcrypto.subtle.generateKey(RSA, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomBytes(8).toString('hex').replace(/^./, '1'),
    name: `CN=${name}`,
    notBefore: new Date(now - 3600_000),
    notAfter: new Date(now + 10 * 365 * 86400_000),
    signingAlgorithm: RSA,
    keys: keys as never,
  });
  const keyPem = x509.PemConverter.encode(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey), 'PRIVATE KEY');
  const der = Buffer.from(cert.rawData);
  return {
    certPem: cert.toString('pem'),
    keyPem,
    privateKey: createPrivateKey(keyPem),
    x5tS256: createHash('sha256').update(der).digest('base64url'),
    x5t: createHash('sha1').update(der).digest('base64url'),
  };
}

/** The key encrypted under `password` (PKCS#8, AES-256-CBC), as `openssl pkcs8 -topk8 -v2 aes256` writes it. */
export function encryptedKeyPem(cert: TestCertificate, password: string): string {
  return cert.privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: password }) as string;
}

export interface AssertionOptions {
  clientId: string;
  audience: string;
  alg?: 'RS256' | 'PS256';
  header?: Record<string, unknown>;
  claims?: Record<string, unknown>;
  nowSec?: number;
  key?: KeyObject;
}

/** A certificate client assertion as Entra documents it; `header` and `claims` override members (undefined removes one). */
export async function certificateAssertion(cert: TestCertificate, opts: AssertionOptions): Promise<string> {
  const now = opts.nowSec ?? Math.floor(Date.now() / 1000);
  const alg = opts.alg ?? 'RS256';
  const header = strip({ alg, typ: 'JWT', 'x5t#S256': cert.x5tS256, x5t: cert.x5t, ...opts.header });
  const claims = strip({ aud: opts.audience, iss: opts.clientId, sub: opts.clientId, jti: randomUUID(), nbf: now, exp: now + 600, ...opts.claims });
  return new SignJWT(claims).setProtectedHeader(header as never).sign(opts.key ?? cert.privateKey);
}

function strip(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}
