import { X509Certificate, createPrivateKey, createPublicKey } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createSessionPki } from '../../../src/pki/session-pki.js';

describe('createSessionPki', () => {
  it('issues a loopback server certificate and an arcproxy-user client certificate from one fresh CA', async () => {
    const pki = await createSessionPki();
    const ca = new X509Certificate(pki.caCert);
    const server = new X509Certificate(pki.server.cert);
    const client = new X509Certificate(pki.client.cert);
    expect(server.checkIssued(ca)).toBe(true);
    expect(client.checkIssued(ca)).toBe(true);
    expect(server.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(server.checkIP('::1')).toBeDefined();
    expect(server.checkHost('localhost')).toBe('localhost');
    expect(server.checkHost('example.com')).toBeUndefined();
    expect(client.subject).toContain('CN=arcproxy-user');
    expect(pki.server.key).toContain('PRIVATE KEY');
    // Signed by the CA's key; each private key belongs to its certificate; only the CA is a CA.
    expect(server.verify(ca.publicKey)).toBe(true);
    expect(client.verify(ca.publicKey)).toBe(true);
    const spki = (pem: string) => createPublicKey(createPrivateKey(pem)).export({ type: 'spki', format: 'der' }).toString('hex');
    expect(spki(pki.server.key)).toBe(server.publicKey.export({ type: 'spki', format: 'der' }).toString('hex'));
    expect(spki(pki.client.key)).toBe(client.publicKey.export({ type: 'spki', format: 'der' }).toString('hex'));
    expect([ca.ca, server.ca, client.ca]).toEqual([true, false, false]);
    expect(server.keyUsage).toEqual(['1.3.6.1.5.5.7.3.1']);
    expect(client.keyUsage).toEqual(['1.3.6.1.5.5.7.3.2']);

    const other = await createSessionPki();
    expect(other.caCert).not.toBe(pki.caCert);
    expect(new X509Certificate(other.server.cert).checkIssued(ca)).toBe(false);
  });
});
