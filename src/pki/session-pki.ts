/**
 * Per-session PKI for the local listener: a fresh CA that lives only in memory (and in the
 * kubeconfig arcproxy writes), a server certificate for the loopback names, and the client
 * certificate kubectl presents. Only whoever can read that kubeconfig can use the proxy.
 */
import { randomBytes } from 'node:crypto';
import { createCertificateAuthority, issueClientCertificate, issueServerCertificate } from './certs.js';

export interface SessionPki {
  caCert: string;
  server: { cert: string; key: string };
  client: { cert: string; key: string };
}

export const SESSION_CLIENT_COMMON_NAME = 'arcproxy-user';

export async function createSessionPki(): Promise<SessionPki> {
  // A random suffix keeps two sessions' CAs distinguishable in a trust store or a debugger.
  const ca = await createCertificateAuthority(`arcproxy session CA ${randomBytes(4).toString('hex')}`);
  const [server, client] = await Promise.all([
    issueServerCertificate(ca, { commonName: 'localhost', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1', '::1'] }),
    issueClientCertificate(ca, { commonName: SESSION_CLIENT_COMMON_NAME }),
  ]);
  return { caCert: ca.cert, server, client };
}
