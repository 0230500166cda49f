/** The certificate-credential PEM file and the client assertion arcproxy makes from it. */
import { X509Certificate, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { compactVerify, decodeJwt, decodeProtectedHeader } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  ASSERTION_LIFETIME_SECONDS,
  ClientCertificateError,
  certificateAssertion,
  parseClientCertificate,
} from '../../../../src/azure/pop/client-certificate.js';
import { createCertificateAuthority } from '../../../../src/pki/certs.js';
import { encryptedKeyPem, makeRsaCertificate, type TestCertificate } from '../../emulator/entra/cert-fixture.js';

describe('parseClientCertificate', () => {
  let cert: TestCertificate;
  let other: TestCertificate;
  beforeAll(async () => {
    [cert, other] = await Promise.all([makeRsaCertificate(), makeRsaCertificate('other')]);
  });

  const fails = (pem: string, password?: string) => {
    try {
      parseClientCertificate(pem, password);
    } catch (err) {
      // The file is the user's to fix: exit 2, not a failed sign-in.
      expect(err).toBeInstanceOf(ClientCertificateError);
      expect(err).toMatchObject({ code: 'ARCPROXY_BAD_CLIENT_CERTIFICATE', exitCode: 2 });
      return (err as Error).message;
    }
    throw new Error('expected parseClientCertificate to throw');
  };

  it('reads certificate and key in either order, and computes x5t and x5t#S256 of the DER', () => {
    for (const pem of [`${cert.certPem}\n${cert.keyPem}`, `${cert.keyPem}\n${cert.certPem}`]) {
      const parsed = parseClientCertificate(pem);
      expect(parsed.x5t).toBe(cert.x5t);
      expect(parsed.x5tS256).toBe(cert.x5tS256);
      expect(parsed.certificate.fingerprint256).toBe(new X509Certificate(cert.certPem).fingerprint256);
    }
  });

  it('picks the certificate that belongs to the key when the file carries a chain', () => {
    const parsed = parseClientCertificate(`${other.certPem}${cert.keyPem}${cert.certPem}`);
    expect(parsed.x5tS256).toBe(cert.x5tS256);
  });

  it('reads an encrypted key with its password and names a missing or wrong one without quoting it', () => {
    const pem = `${cert.certPem}${encryptedKeyPem(cert, 's3cret-pass')}`;
    expect(parseClientCertificate(pem, 's3cret-pass').x5t).toBe(cert.x5t);
    expect(fails(pem)).toMatch(/encrypted private key: set AZURE_CLIENT_CERTIFICATE_PASSWORD/);
    const wrong = fails(pem, 'wrong-pass-9');
    expect(wrong).toMatch(/cannot be decrypted/);
    expect(wrong).not.toContain('wrong-pass-9');
  });

  it('refuses a file without certificate or key, a key of another pair and a non-RSA key', async () => {
    expect(fails(cert.keyPem)).toMatch(/holds no certificate .*not PFX/);
    expect(fails(cert.certPem)).toMatch(/contains a certificate but no private key; /);
    expect(fails(`${other.certPem}${cert.keyPem}`)).toMatch(/no certificate that belongs to its private key/);
    const ec = await createCertificateAuthority('ec');
    expect(fails(`${ec.cert}${ec.key}`)).toMatch(/has a ec key; Microsoft Entra ID takes RSA certificates/);
    const message = fails(`${cert.certPem}-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n`);
    expect(message).toMatch(/private key cannot be read/);
  });
});

describe('certificateAssertion', () => {
  it("is Entra's certificate-credential JWT: RS256, x5t and x5t#S256, aud, iss = sub, jti, ten minutes", async () => {
    const cert = await makeRsaCertificate();
    const parsed = parseClientCertificate(`${cert.certPem}${cert.keyPem}`);
    const aud = 'https://login.example/tenant/oauth2/v2.0/token';
    const jwt = await certificateAssertion(parsed, 'client-1', aud, 1_800_000_000.7);
    expect(decodeProtectedHeader(jwt)).toEqual({ alg: 'RS256', typ: 'JWT', x5t: cert.x5t, 'x5t#S256': cert.x5tS256 });
    const claims = decodeJwt(jwt);
    expect(claims).toMatchObject({ aud, iss: 'client-1', sub: 'client-1', nbf: 1_800_000_000, exp: 1_800_000_000 + ASSERTION_LIFETIME_SECONDS });
    expect(claims.jti).toMatch(/^[0-9a-f-]{36}$/);
    await expect(compactVerify(jwt, createPublicKey(cert.certPem))).resolves.toBeDefined();
    const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    await expect(compactVerify(jwt, publicKey)).rejects.toThrow();
    expect(decodeJwt(await certificateAssertion(parsed, 'client-1', aud, 1_800_000_000)).jti).not.toBe(claims.jti);
  });
});
