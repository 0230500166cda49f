/**
 * Certificate generation for the per-session CA (arcproxy's local listener) and the emulator's CA.
 * Keys are ECDSA P-256 made with WebCrypto: generating one takes about a millisecond, so a
 * session CA costs nothing at start-up. Everything stays in memory unless a caller writes it out.
 */
import { webcrypto, randomBytes } from 'node:crypto';

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;
import * as x509 from '@peculiar/x509';

const crypto = webcrypto;
x509.cryptoProvider.set(crypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const ALG: webcrypto.EcKeyGenParams & webcrypto.EcdsaParams = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };

export interface KeyPairPem {
  /** PEM certificate. */
  cert: string;
  /** PEM PKCS#8 private key. */
  key: string;
}

export interface CertificateAuthority extends KeyPairPem {
  readonly name: string;
  /** Internal: the CryptoKey pair used to sign leaf certificates. */
  readonly keys: CryptoKeyPair;
  readonly certificate: x509.X509Certificate;
}

export interface LeafOptions {
  commonName: string;
  dnsNames?: string[];
  ipAddresses?: string[];
  /** Validity in days; default 2 (session certificates) */
  days?: number;
}

function serial(): string {
  const bytes = randomBytes(16);
  bytes[0] = bytes[0]! & 0x7f; // positive
  return bytes.toString('hex');
}

function validity(days: number): { notBefore: Date; notAfter: Date } {
  const now = Date.now();
  // Back-date a little so small clock differences between processes never reject a fresh cert.
  return { notBefore: new Date(now - 60 * 60 * 1000), notAfter: new Date(now + days * 24 * 60 * 60 * 1000) };
}

async function keyToPem(key: CryptoKey): Promise<string> {
  const der = await crypto.subtle.exportKey('pkcs8', key);
  return x509.PemConverter.encode(der, 'PRIVATE KEY');
}

export async function createCertificateAuthority(name: string, days = 2): Promise<CertificateAuthority> {
  const keys = (await crypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: `CN=${name}`,
    ...validity(days),
    keys,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { name, keys, certificate, cert: certificate.toString('pem'), key: await keyToPem(keys.privateKey) };
}

async function issue(ca: CertificateAuthority, opts: LeafOptions, usage: 'server' | 'client'): Promise<KeyPairPem> {
  const keys = (await crypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
  const altNames: x509.JsonGeneralName[] = [
    ...(opts.dnsNames ?? []).map((value) => ({ type: 'dns' as const, value })),
    ...(opts.ipAddresses ?? []).map((value) => ({ type: 'ip' as const, value })),
  ];
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
    new x509.ExtendedKeyUsageExtension([usage === 'server' ? x509.ExtendedKeyUsage.serverAuth : x509.ExtendedKeyUsage.clientAuth]),
    await x509.AuthorityKeyIdentifierExtension.create(ca.keys.publicKey),
  ];
  if (altNames.length > 0) extensions.push(new x509.SubjectAlternativeNameExtension(altNames));
  const certificate = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: `CN=${opts.commonName}`,
    issuer: ca.certificate.subject,
    ...validity(opts.days ?? 2),
    publicKey: keys.publicKey,
    signingKey: ca.keys.privateKey,
    signingAlgorithm: ALG,
    extensions,
  });
  return { cert: certificate.toString('pem'), key: await keyToPem(keys.privateKey) };
}

export function issueServerCertificate(ca: CertificateAuthority, opts: LeafOptions): Promise<KeyPairPem> {
  return issue(ca, opts, 'server');
}

export function issueClientCertificate(ca: CertificateAuthority, opts: LeafOptions): Promise<KeyPairPem> {
  return issue(ca, opts, 'client');
}
