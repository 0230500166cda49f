import { X509Certificate } from 'node:crypto';
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

    const other = await createSessionPki();
    expect(other.caCert).not.toBe(pki.caCert);
    expect(new X509Certificate(other.server.cert).checkIssued(ca)).toBe(false);
  });
});
