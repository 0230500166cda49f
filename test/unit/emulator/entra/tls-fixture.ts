/** A throwaway CA and a server certificate for 127.0.0.1/localhost, for emulator tests; Entra on loopback, emulated or scripted. */
import type { IncomingHttpHeaders } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { closeCloudTransport } from '../../../../src/azure/transport.js';
import type { CloudProfile } from '../../../../src/net/cloud-profile.js';
import { createEntraEmulator, type EntraEmulator } from '../../../../src/emulator/entra/index.js';
import type { Seed } from '../../../../src/emulator/seed.js';
import { createCertificateAuthority, issueServerCertificate } from '../../../../src/pki/certs.js';

export interface TestTls {
  ca: string;
  server: { cert: string; key: string };
}

/** `extraDnsNames`: further names the server certificate covers (for host-map tests). */
export async function makeTestTls(extraDnsNames: string[] = []): Promise<TestTls> {
  const ca = await createCertificateAuthority('arcproxy test CA');
  const server = await issueServerCertificate(ca, { commonName: 'localhost', dnsNames: ['localhost', ...extraDnsNames], ipAddresses: ['127.0.0.1'] });
  return { ca: ca.cert, server };
}

/** An emulated Entra ID on loopback with its own CA, and a cloud profile that signs in against it (TLS verification on). */
export async function startTestEntra(seed: Seed): Promise<{ entra: EntraEmulator; cloud: CloudProfile }> {
  const tls = await makeTestTls();
  const entra = await createEntraEmulator({ seed, tls: tls.server, host: '127.0.0.1', port: 0 });
  const cloud: CloudProfile = {
    name: 'Test',
    resourceManagerEndpoint: 'https://127.0.0.1:1',
    resourceManagerAudience: 'https://management.core.windows.net/',
    authorityHost: entra.url,
    relaySuffix: 'relay.test',
    ca: tls.ca,
    disableInstanceDiscovery: true,
  };
  return { entra, cloud };
}

export interface ScriptedRequest {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface ScriptedAnswer {
  status: number;
  headers?: Record<string, string>;
  body: string;
}

export interface ScriptedAuthority {
  cloud: CloudProfile;
  /** https://127.0.0.1:PORT */
  origin: string;
  /** Closes the cloud profile's pooled connections and the server. */
  close(): Promise<void>;
}

/**
 * An authority on loopback (TLS with its own CA) that answers each request as `answer` says, and a
 * cloud profile that signs in against it: for the token client's protocol and retries, where the
 * emulated Entra ID would always answer right.
 */
export async function startScriptedAuthority(answer: (request: ScriptedRequest) => ScriptedAnswer | Promise<ScriptedAnswer>): Promise<ScriptedAuthority> {
  const tls = await makeTestTls();
  const server = https.createServer({ cert: tls.server.cert, key: tls.server.key }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void Promise.resolve(answer({ path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') })).then((a) =>
        res.writeHead(a.status, a.headers).end(a.body),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const cloud: CloudProfile = {
    name: 'Scripted',
    resourceManagerEndpoint: 'https://127.0.0.1:1',
    resourceManagerAudience: 'https://management.core.windows.net/',
    authorityHost: `${origin}/`,
    relaySuffix: 'relay.test',
    ca: tls.ca,
  };
  return {
    cloud,
    origin,
    async close() {
      closeCloudTransport(cloud);
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

export interface JsonResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: any;
}

/** One HTTPS request trusting `ca`; the body is parsed as JSON when it is JSON. */
export async function httpsRequest(
  url: string,
  ca: string,
  opts: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<JsonResponse> {
  const https = await import('node:https');
  return new Promise((resolve, reject) => {
    const req = https.request(url, { method: opts.method ?? 'GET', headers: opts.headers, ca, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let body: unknown = text;
        if ((res.headers['content-type'] ?? '').includes('json')) body = JSON.parse(text);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body });
      });
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

export function form(fields: Record<string, string>): { method: string; headers: Record<string, string>; body: string } {
  return {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(fields).toString(),
  };
}
