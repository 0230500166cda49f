/**
 * Certificate generation for the per-session CA (arcproxy's local listener) and the emulator's CA.
 * Keys are ECDSA P-256 from node:crypto and certificates are encoded here (der.ts) and signed with
 * node:crypto: a whole session PKI takes a few milliseconds on the main thread, where a
 * certificate library took ~150 ms of CPU and a worker thread to keep it off launch-to-ready.
 * Everything stays in memory unless a caller writes it out.
 */
import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { isIPv4 } from 'node:net';
import { bitString, boolean, explicit, implicit, namedBits, octetString, oid, sequence, set, smallInteger, time, unsignedInteger, utf8String } from './der.js';

export interface KeyPairPem {
  /** PEM certificate. */
  cert: string;
  /** PEM PKCS#8 private key. */
  key: string;
}

export interface CertificateAuthority extends KeyPairPem {
  readonly name: string;
  /** Internal: what a leaf certificate needs from its issuer. */
  readonly issuer: { readonly name: Buffer; readonly keyId: Buffer; readonly privateKey: KeyObject };
}

export interface LeafOptions {
  commonName: string;
  dnsNames?: string[];
  ipAddresses?: string[];
  /** Validity in days; default 2 (session certificates) */
  days?: number;
}

const OID = {
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  commonName: '2.5.4.3',
  subjectKeyIdentifier: '2.5.29.14',
  keyUsage: '2.5.29.15',
  subjectAltName: '2.5.29.17',
  basicConstraints: '2.5.29.19',
  authorityKeyIdentifier: '2.5.29.35',
  extKeyUsage: '2.5.29.37',
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
};

/** RFC 5280 §4.2.1.3 bit numbers. */
const KEY_USAGE = { digitalSignature: 0, keyEncipherment: 2, keyCertSign: 5, cRLSign: 6 };

const ECDSA_WITH_SHA256 = sequence(oid(OID.ecdsaWithSha256));

function newKeyPair(): { privateKey: KeyObject; publicKey: KeyObject } {
  return generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
}

function serial(): Buffer {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0]! & 0x3f) | 0x40; // positive, and 16 bytes in its minimal encoding
  return unsignedInteger(bytes);
}

function validity(days: number): Buffer {
  const now = Date.now();
  // Back-date a little so small clock differences between processes never reject a fresh cert.
  return sequence(time(new Date(now - 60 * 60 * 1000)), time(new Date(now + days * 24 * 60 * 60 * 1000)));
}

const distinguishedName = (commonName: string): Buffer => sequence(set(sequence(oid(OID.commonName), utf8String(commonName))));

/** RFC 5280 §4.2.1.2 method 1: SHA-1 of the public key's bits. */
function keyIdentifier(publicKey: KeyObject): Buffer {
  const jwk = publicKey.export({ format: 'jwk' });
  const point = Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x!, 'base64url'), Buffer.from(jwk.y!, 'base64url')]);
  return createHash('sha1').update(point).digest();
}

const extension = (id: string, critical: boolean, value: Buffer): Buffer => sequence(oid(id), ...(critical ? [boolean(true)] : []), octetString(value));

function ipAddressBytes(ip: string): Buffer {
  if (isIPv4(ip)) return Buffer.from(ip.split('.').map(Number));
  // IPv6: eight 16-bit groups, `::` standing for the zero groups left out.
  const [head, tail] = ip.includes('::') ? ip.split('::') : [ip, undefined];
  const groups = (s: string | undefined) => (s ? s.split(':').map((g) => parseInt(g, 16)) : []);
  const left = groups(head);
  const right = groups(tail);
  const all = tail === undefined ? left : [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
  if (all.length !== 8 || all.some((g) => !Number.isInteger(g) || g < 0 || g > 0xffff)) throw new Error(`not an IP address: ${ip}`);
  const out = Buffer.alloc(16);
  all.forEach((g, i) => out.writeUInt16BE(g, i * 2));
  return out;
}

function certificate(tbs: Buffer, signingKey: KeyObject): string {
  const der = sequence(tbs, ECDSA_WITH_SHA256, bitString(sign('sha256', tbs, signingKey)));
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN CERTIFICATE-----\n${lines.join('\n')}\n-----END CERTIFICATE-----\n`;
}

function tbsCertificate(issuer: Buffer, subject: Buffer, days: number, publicKey: KeyObject, extensions: Buffer[]): Buffer {
  return sequence(
    explicit(0, smallInteger(2)), // v3
    serial(),
    ECDSA_WITH_SHA256,
    issuer,
    validity(days),
    subject,
    publicKey.export({ type: 'spki', format: 'der' }),
    explicit(3, sequence(...extensions)),
  );
}

const pkcs8Pem = (key: KeyObject): string => key.export({ type: 'pkcs8', format: 'pem' }) as string;

export async function createCertificateAuthority(name: string, days = 2): Promise<CertificateAuthority> {
  const { privateKey, publicKey } = newKeyPair();
  const subject = distinguishedName(name);
  const keyId = keyIdentifier(publicKey);
  const tbs = tbsCertificate(subject, subject, days, publicKey, [
    extension(OID.basicConstraints, true, sequence(boolean(true), smallInteger(0))),
    extension(OID.keyUsage, true, namedBits([KEY_USAGE.keyCertSign, KEY_USAGE.cRLSign])),
    extension(OID.subjectKeyIdentifier, false, octetString(keyId)),
  ]);
  return { name, issuer: { name: subject, keyId, privateKey }, cert: certificate(tbs, privateKey), key: pkcs8Pem(privateKey) };
}

function issue(ca: CertificateAuthority, opts: LeafOptions, usage: 'server' | 'client'): KeyPairPem {
  const { privateKey, publicKey } = newKeyPair();
  const altNames = [
    ...(opts.dnsNames ?? []).map((dns) => implicit(2, Buffer.from(dns, 'ascii'))),
    ...(opts.ipAddresses ?? []).map((ip) => implicit(7, ipAddressBytes(ip))),
  ];
  const extensions = [
    extension(OID.basicConstraints, true, sequence()),
    extension(OID.keyUsage, true, namedBits([KEY_USAGE.digitalSignature, KEY_USAGE.keyEncipherment])),
    extension(OID.extKeyUsage, false, sequence(oid(usage === 'server' ? OID.serverAuth : OID.clientAuth))),
    extension(OID.authorityKeyIdentifier, false, sequence(implicit(0, ca.issuer.keyId))),
  ];
  if (altNames.length > 0) extensions.push(extension(OID.subjectAltName, false, sequence(...altNames)));
  const tbs = tbsCertificate(ca.issuer.name, distinguishedName(opts.commonName), opts.days ?? 2, publicKey, extensions);
  return { cert: certificate(tbs, ca.issuer.privateKey), key: pkcs8Pem(privateKey) };
}

export async function issueServerCertificate(ca: CertificateAuthority, opts: LeafOptions): Promise<KeyPairPem> {
  return issue(ca, opts, 'server');
}

export async function issueClientCertificate(ca: CertificateAuthority, opts: LeafOptions): Promise<KeyPairPem> {
  return issue(ca, opts, 'client');
}
