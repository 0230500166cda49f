/** An apiserver from the default seed's demo cluster, and a small HTTPS client for it. */
import { request } from 'node:https';
import { createCertificateAuthority, issueServerCertificate } from '../../../../src/pki/certs.js';
import { createApiServer, type ApiServer } from '../../../../src/emulator/apiserver/index.js';
import { defaultSeed, type SeedKubernetes } from '../../../../src/emulator/seed.js';

export function demoKubernetes(): SeedKubernetes {
  return defaultSeed().resourceGroups[0]!.clusters.find((c) => c.name === 'demo')!.kubernetes!;
}

export const ADMIN = 'emulator-sa-token-demo-admin-7d1c4f2a9b';
export const VIEWER = 'emulator-sa-token-demo-viewer-3e8b6a0c5d';
export const NOBODY = 'emulator-sa-token-demo-nobody-9f2a4c6e8b';

export interface Fixture {
  server: ApiServer;
  ca: string;
  get(path: string, token?: string, headers?: Record<string, string>): Promise<{ status: number; body: any; text: string }>;
  send(method: string, path: string, body: Buffer | string, token?: string, headers?: Record<string, string>): Promise<{ status: number; body: any; text: string }>;
}

export async function startFixture(now?: () => number): Promise<Fixture> {
  const ca = await createCertificateAuthority('apiserver test CA');
  const tls = await issueServerCertificate(ca, { commonName: 'apiserver', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
  const server = await createApiServer({ kubernetes: demoKubernetes(), tls, ...(now ? { now } : {}) });
  const send = (method: string, path: string, body: Buffer | string | undefined, token?: string, headers: Record<string, string> = {}) =>
    new Promise<{ status: number; body: any; text: string }>((resolve, reject) => {
      const req = request(`${server.url}${path}`, { method, ca: ca.cert, agent: false, headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers } }, (res) => {
        let text = '';
        res.on('data', (d) => (text += d));
        res.on('end', () => {
          let parsed: unknown;
          try {
            parsed = JSON.parse(text);
          } catch {
            parsed = undefined;
          }
          resolve({ status: res.statusCode ?? 0, body: parsed, text });
        });
      });
      req.on('error', reject);
      req.end(body);
    });
  return { server, ca: ca.cert, get: (p, t, h) => send('GET', p, undefined, t, h), send: (m, p, b, t, h) => send(m, p, b, t, h) };
}
