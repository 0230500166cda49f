import { describe, expect, it } from 'vitest';
import { createServer, connect } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { X509Certificate } from 'node:crypto';
import { createCertificateAuthority, issueClientCertificate, issueServerCertificate } from '../../../src/pki/certs.js';

describe('pki', () => {
  it('issues a server certificate that Node verifies for 127.0.0.1 and its DNS names', async () => {
    const ca = await createCertificateAuthority('test CA');
    const server = await issueServerCertificate(ca, { commonName: 'srv', dnsNames: ['localhost', '*.relay.test'], ipAddresses: ['127.0.0.1'] });
    const x = new X509Certificate(server.cert);
    expect(x.checkIssued(new X509Certificate(ca.cert))).toBe(true);
    expect(x.checkHost('localhost')).toBe('localhost');
    expect(x.checkHost('demo.relay.test')).toBe('*.relay.test');
    expect(x.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(x.checkHost('other.example')).toBeUndefined();
  });

  it('supports mutual TLS: a client certificate from the CA is accepted, none is refused', async () => {
    const ca = await createCertificateAuthority('mtls CA');
    const server = await issueServerCertificate(ca, { commonName: 'srv', ipAddresses: ['127.0.0.1'] });
    const client = await issueClientCertificate(ca, { commonName: 'arcproxy-user' });
    const srv = createServer({ ...server, ca: ca.cert, requestCert: true, rejectUnauthorized: true }, (s) => s.end('hi'));
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const port = (srv.address() as AddressInfo).port;
    try {
      const ok = await new Promise<string>((resolve, reject) => {
        const s = connect({ port, host: '127.0.0.1', ca: ca.cert, cert: client.cert, key: client.key }, () => undefined);
        let data = '';
        s.on('data', (d) => (data += d));
        s.on('end', () => resolve(data));
        s.on('error', reject);
      });
      expect(ok).toBe('hi');
      const refused = await new Promise<string>((resolve) => {
        const s = connect({ port, host: '127.0.0.1', ca: ca.cert }, () => undefined);
        s.on('data', () => resolve('data'));
        s.on('error', (e) => resolve((e as NodeJS.ErrnoException).code ?? e.message));
        s.on('end', () => resolve('end'));
      });
      expect(refused).not.toBe('data');
    } finally {
      srv.close();
    }
  });

  it('encodes long names, IPv6 addresses and long validities as Node reads them', async () => {
    const ca = await createCertificateAuthority('long-lived CA', 30 * 365);
    const long = `${'a'.repeat(60)}.${'b'.repeat(60)}.example`;
    const server = await issueServerCertificate(ca, {
      commonName: long,
      dnsNames: [long, 'localhost'],
      ipAddresses: ['2001:db8::1', '::1', '10.0.0.1'],
      days: 10,
    });
    const x = new X509Certificate(server.cert);
    expect(x.verify(new X509Certificate(ca.cert).publicKey)).toBe(true);
    expect(x.checkHost(long)).toBe(long);
    expect(x.checkIP('2001:db8::1')).toBe('2001:db8::1');
    expect(x.checkIP('::1')).toBe('::1');
    expect(x.checkIP('10.0.0.1')).toBe('10.0.0.1');
    expect(new Date(new X509Certificate(ca.cert).validTo).getUTCFullYear()).toBeGreaterThanOrEqual(2050);
  });
});
