/**
 * The managed-identity endpoint of an Azure App Service host (api-version 2019-08-01), which
 * @azure/identity's ManagedIdentityCredential (through MSAL for Node) uses when IDENTITY_ENDPOINT
 * and IDENTITY_HEADER are set: `GET {IDENTITY_ENDPOINT}?api-version=2019-08-01&resource=R` with the
 * `X-IDENTITY-HEADER` secret, optionally naming a user-assigned identity by `client_id`,
 * `principal_id` or `mi_res_id`. Plain HTTP on loopback, as App Service serves it. It hands out
 * Bearer tokens only: a managed identity cannot get a proof-of-possession token.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { Seed, SeedPrincipal } from '../seed.js';
import { accessTokenClaims } from './claims.js';
import { sendJson } from './http.js';
import type { SigningKey } from './keys.js';
import { audienceForRequest } from './scopes.js';
import { signJwt } from './signer.js';

const API_VERSION = '2019-08-01';
const PATH = '/msi/token';

export interface ManagedIdentityEndpoint {
  /** IDENTITY_ENDPOINT: http://127.0.0.1:PORT/msi/token */
  url: string;
  /** IDENTITY_HEADER: the secret every request must carry. */
  header: string;
  close(): Promise<void>;
}

export interface ManagedIdentityOptions {
  seed: Seed;
  signingKey: SigningKey;
  /** The token issuer (the emulated Entra ID's, for the seed's tenant). */
  issuer: () => string;
  nowMs: () => number;
  lifetimeSeconds: () => number;
  host: string;
  port: number;
}

/** The seed's managed identities: service principals marked `managedIdentity`. */
function managedIdentities(seed: Seed): SeedPrincipal[] {
  return seed.principals.filter((p) => p.kind === 'servicePrincipal' && p.managedIdentity === true);
}

function sameSecret(expected: string, given: string | undefined): boolean {
  if (given === undefined) return false;
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** App Service's error shape: `{ statusCode, message, correlationId }`. */
function fail(res: ServerResponse, status: number, message: string): void {
  sendJson(res, status, { statusCode: status, message, correlationId: randomBytes(16).toString('hex') });
}

export async function startManagedIdentityEndpoint(opts: ManagedIdentityOptions): Promise<ManagedIdentityEndpoint> {
  const header = randomBytes(24).toString('hex');
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://identity.local');
    if (url.pathname !== PATH) return fail(res, 404, 'Not found.');
    if (req.method !== 'GET') return fail(res, 405, 'Only GET is supported.');
    const given = req.headers['x-identity-header'];
    if (!sameSecret(header, Array.isArray(given) ? given[0] : given)) return fail(res, 401, 'The X-IDENTITY-HEADER header is missing or wrong.');
    if (url.searchParams.get('api-version') !== API_VERSION) return fail(res, 400, `api-version must be ${API_VERSION}.`);
    const resource = url.searchParams.get('resource');
    const audience = resource ? audienceForRequest(`${resource.replace(/\/+$/, '')}/.default`) : undefined;
    if (!resource || !audience) return fail(res, 400, 'The resource parameter is missing or not a resource.');
    const identity = pick(managedIdentities(opts.seed), url.searchParams);
    if (!identity) return fail(res, 400, 'No managed identity with the given id is assigned to this resource.');
    const lifetime = opts.lifetimeSeconds();
    const nowSeconds = Math.floor(opts.nowMs() / 1000);
    const token = await signJwt(
      opts.signingKey,
      accessTokenClaims(identity, {
        issuer: opts.issuer(),
        tenantId: opts.seed.tenantId,
        audience,
        clientId: identity.clientId ?? '',
        nowSeconds,
        lifetimeSeconds: lifetime,
      }),
    );
    sendJson(res, 200, {
      access_token: token,
      expires_on: String(nowSeconds + lifetime),
      resource,
      token_type: 'Bearer',
      client_id: identity.clientId,
    });
  };
  const server = http.createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) fail(res, 500, 'internal error');
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${opts.host}:${port}${PATH}`,
    header,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}

/** The system-assigned identity (the first), or the user-assigned one a request names. */
function pick(identities: SeedPrincipal[], query: URLSearchParams): SeedPrincipal | undefined {
  const clientId = query.get('client_id');
  const objectId = query.get('principal_id') ?? query.get('object_id');
  const resourceId = query.get('mi_res_id');
  if (clientId) return identities.find((p) => p.clientId?.toLowerCase() === clientId.toLowerCase());
  if (objectId) return identities.find((p) => p.objectId.toLowerCase() === objectId.toLowerCase());
  if (resourceId) return undefined; // the seed names no identity by ARM id
  return identities[0];
}
