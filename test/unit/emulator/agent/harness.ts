/**
 * Test rig for the cluster agent: a recording HTTPS "apiserver" with its own CA, a loopback TCP
 * front whose accepted sockets stand in for relay streams, and an Entra-like token issuer.
 */
import { once } from 'node:events';
import { Agent as HttpAgent, request, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { exportJWK, generateKeyPair, SignJWT, type JWTPayload } from 'jose';
import { ARC_SERVER_APP_ID } from '../../../../src/azure/cloud.js';
import { createCertificateAuthority, issueServerCertificate } from '../../../../src/pki/certs.js';

export const TENANT = '11111111-2222-4333-8444-555555555555';
export const ISSUER = `https://login.emulator.test/${TENANT}/v2.0`;
export const AGENT_TOKEN = 'agent-sa-token-impersonator';
/** The ARM id of the cluster the test agent serves, in the shape the emulator's ARM returns. */
export const CLUSTER_ARM_ID =
  '/subscriptions/6f1d8c2a-3b4e-4a5f-8c9d-0e1f2a3b4c5d/resourceGroups/demo-rg/providers/Microsoft.Kubernetes/connectedClusters/demo';
/** A cluster that accepts plain Entra bearer tokens (enforcePoP off), for tests that are not about PoP. */
export const LENIENT_CLUSTER = { armId: CLUSTER_ARM_ID, enforcePoP: false } as const;

export interface Recorded {
  method: string;
  url: string;
  rawHeaders: string[];
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** Values of every occurrence of a header (case-insensitive), in order. */
export function headerValues(rawHeaders: readonly string[], name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) if (rawHeaders[i]!.toLowerCase() === name) out.push(rawHeaders[i + 1]!);
  return out;
}

export type UpstreamHandler = (req: IncomingMessage, res: ServerResponse, body: Buffer) => void;
export type UpgradeHandler = (req: IncomingMessage, socket: Duplex, head: Buffer) => void;

export interface TestApiserver {
  url: string;
  ca: string;
  requests: Recorded[];
  upgrades: Recorded[];
  server: HttpsServer;
  onRequest: UpstreamHandler;
  onUpgrade: UpgradeHandler;
  close(): Promise<void>;
}

const okJson: UpstreamHandler = (_req, res) => {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end('{"kind":"APIVersions"}');
};

export async function startApiserver(): Promise<TestApiserver> {
  const ca = await createCertificateAuthority('agent-test-apiserver-ca');
  const leaf = await issueServerCertificate(ca, { commonName: 'apiserver', ipAddresses: ['127.0.0.1'] });
  const server = createHttpsServer({ cert: leaf.cert, key: leaf.key });
  const sockets = new Set<Duplex>();
  server.on('secureConnection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  const api: TestApiserver = {
    url: '',
    ca: ca.cert,
    requests: [],
    upgrades: [],
    server,
    onRequest: okJson,
    onUpgrade: (_req, socket) => socket.destroy(),
    close: async () => {
      for (const s of sockets) s.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      api.requests.push({ method: req.method!, url: req.url!, rawHeaders: req.rawHeaders, headers: req.headers, body });
      api.onRequest(req, res, body);
    });
  });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    sockets.add(socket);
    api.upgrades.push({ method: req.method!, url: req.url!, rawHeaders: req.rawHeaders, headers: req.headers, body: head });
    api.onUpgrade(req, socket, head);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  api.url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return api;
}

/** Loopback TCP whose server-side sockets are handed to `serve`, as relay streams would be. */
export interface Front {
  port: number;
  accepted: number;
  serverSockets: Set<Socket>;
  /** A keep-alive client that reuses one connection (like arcproxy's pool). */
  client: HttpAgent;
  close(): Promise<void>;
}

export async function startFront(serve: (s: Duplex) => void): Promise<Front> {
  const serverSockets = new Set<Socket>();
  const clientSockets = new Set<Socket>();
  const server = createNetServer((s) => {
    front.accepted++;
    serverSockets.add(s);
    s.on('close', () => serverSockets.delete(s));
    serve(s);
  });
  const client = new HttpAgent({ keepAlive: true, maxSockets: 1 });
  const front: Front = {
    port: 0,
    accepted: 0,
    serverSockets,
    client,
    close: async () => {
      client.destroy();
      for (const s of [...serverSockets, ...clientSockets]) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  front.port = (server.address() as AddressInfo).port;
  return front;
}

export interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  rawHeaders: string[];
  body: string;
}

/** One HTTP/1.1 request through the front; resolves with the whole (small) reply. */
export function send(
  front: Front,
  opts: { method?: string; path?: string; headers?: Record<string, string | string[]>; body?: string | Buffer },
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port: front.port, agent: front.client, method: opts.method ?? 'GET', path: opts.path ?? '/api', headers: opts.headers },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode!, headers: res.headers, rawHeaders: res.rawHeaders, body: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}

export interface Issuer {
  jwks: { keys: object[] };
  sign(claims: JWTPayload, opts?: { expiresInSeconds?: number; notBefore?: number }): Promise<string>;
  /** Same kid, different key: a forged signature. */
  forge(claims: JWTPayload): Promise<string>;
}

export async function createIssuer(): Promise<Issuer> {
  const { publicKey, privateKey } = await generateKeyPair('RS256', { extractable: true });
  const other = await generateKeyPair('RS256');
  const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
  const build = (claims: JWTPayload, expiresInSeconds = 3600) => {
    const nowS = Math.floor(Date.now() / 1000);
    return new SignJWT({ iss: ISSUER, aud: ARC_SERVER_APP_ID, tid: TENANT, iat: nowS, exp: nowS + expiresInSeconds, ...claims }).setProtectedHeader({
      alg: 'RS256',
      kid: 'k1',
      typ: 'JWT',
    });
  };
  return {
    jwks: { keys: [jwk] },
    sign: (claims, opts) => {
      const jwt = build(claims, opts?.expiresInSeconds);
      if (opts?.notBefore !== undefined) jwt.setNotBefore(opts.notBefore);
      return jwt.sign(privateKey);
    },
    forge: (claims) => build(claims).sign(other.privateKey),
  };
}

/** A free loopback port nobody listens on (bound on 0, then released). */
export async function closedPort(): Promise<number> {
  const s = createNetServer();
  s.listen(0, '127.0.0.1');
  await once(s, 'listening');
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}
