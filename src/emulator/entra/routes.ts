/**
 * The emulated Entra ID's HTTP surface: OIDC discovery, JWKS, the token and device-code
 * endpoints and a device-login page. Endpoint URLs are built from the Host the client used, so
 * MSAL's issuer check holds whether it reached us by IP or through a cloud profile's host map.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { JSONWebKeySet } from 'jose';
import type { Seed } from '../seed.js';
import { OAuthError, oauthErrors } from './errors.js';
import type { TokenGrants } from './grants.js';
import { BodyTooLargeError, readBody, requestOrigin, sendJson } from './http.js';

/** Tenant aliases that multi-tenant sign-ins use; the emulator has one tenant, so they all map to it. */
const TENANT_ALIASES = new Set(['common', 'organizations', 'consumers']);

export interface EntraRouteContext {
  seed: Seed;
  grants: TokenGrants;
  baseUrl: string;
  jwks: () => JSONWebKeySet;
  federationIssuer: () => string;
  nowMs: () => number;
  deviceCodeIntervalSeconds: () => number;
  /** Takes one planned throttling of a client-credentials token request: its Retry-After in seconds. */
  takeThrottle: () => number | undefined;
}

/** The seed tenant when `segment` names it (by id or alias), else undefined. */
function resolveTenant(seed: Seed, segment: string): string | undefined {
  const s = segment.toLowerCase();
  if (s === seed.tenantId.toLowerCase() || TENANT_ALIASES.has(s)) return seed.tenantId;
  return undefined;
}

function openIdConfiguration(origin: string, tenantSegment: string, tenantId: string): Record<string, unknown> {
  const base = `${origin}/${tenantSegment}`;
  return {
    token_endpoint: `${base}/oauth2/v2.0/token`,
    token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
    jwks_uri: `${origin}/${tenantSegment}/discovery/v2.0/keys`,
    response_modes_supported: ['query', 'fragment', 'form_post'],
    subject_types_supported: ['pairwise'],
    id_token_signing_alg_values_supported: ['RS256'],
    response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
    scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
    issuer: `${origin}/${tenantId}/v2.0`,
    request_uri_parameter_supported: false,
    userinfo_endpoint: `${origin}/oidc/userinfo`,
    authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
    device_authorization_endpoint: `${base}/oauth2/v2.0/devicecode`,
    http_logout_supported: true,
    frontchannel_logout_supported: true,
    end_session_endpoint: `${base}/oauth2/v2.0/logout`,
    claims_supported: ['sub', 'iss', 'aud', 'exp', 'iat', 'auth_time', 'nonce', 'preferred_username', 'name', 'tid', 'ver', 'oid'],
    tenant_region_scope: 'NA',
    cloud_instance_name: 'arcproxy-emulator',
    cloud_graph_host_name: 'graph.windows.net',
    msgraph_host: 'graph.microsoft.com',
  };
}

function sendOAuthError(res: ServerResponse, err: OAuthError, origin: string, nowMs: number): void {
  sendJson(res, err.status, err.body(origin, new Date(nowMs)));
}

async function formBody(req: IncomingMessage): Promise<URLSearchParams> {
  return new URLSearchParams(await readBody(req));
}

function notFound(res: ServerResponse): void {
  sendJson(res, 404, { error: 'not_found', error_description: 'No such endpoint on the emulated Microsoft Entra ID.' });
}

export async function handleEntraRequest(ctx: EntraRouteContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const origin = requestOrigin(req, ctx.baseUrl);
  const url = new URL(req.url ?? '/', origin);
  const parts = url.pathname.split('/').filter(Boolean);
  const method = req.method ?? 'GET';

  if (method === 'GET' && parts.length === 1 && parts[0]!.toLowerCase() === 'devicelogin') {
    res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
    res.end(
      'arcproxy emulator: device-code sign-ins are approved automatically, unless the emulator was told to wait for approval ' +
        '(POST /faults/device-codes); then POST /faults/approve-device-code with the code approves one.\n',
    );
    return;
  }
  const [tenantSegment, ...rest] = parts;
  if (!tenantSegment || rest.length === 0) return notFound(res);
  const route = rest.join('/').toLowerCase();
  const known = ['v2.0/.well-known/openid-configuration', 'discovery/v2.0/keys', 'oauth2/v2.0/token', 'oauth2/v2.0/devicecode'];
  if (!known.includes(route)) return notFound(res);

  const tenantId = resolveTenant(ctx.seed, tenantSegment);
  try {
    if (!tenantId) {
      // Discovery says invalid_tenant, the token endpoints invalid_request, as the real service does.
      throw oauthErrors.tenantNotFound(tenantSegment, route.startsWith('oauth2/') ? 'invalid_request' : 'invalid_tenant');
    }
    if (route === 'v2.0/.well-known/openid-configuration' && method === 'GET') {
      return sendJson(res, 200, openIdConfiguration(origin, tenantSegment, tenantId));
    }
    if (route === 'discovery/v2.0/keys' && method === 'GET') return sendJson(res, 200, ctx.jwks());
    if (method !== 'POST') {
      res.writeHead(405, { allow: 'POST' }).end();
      return;
    }
    const params = await formBody(req);
    if (route === 'oauth2/v2.0/devicecode') {
      const started = ctx.grants.startDeviceCode(params, tenantId);
      const verificationUri = `${origin}/devicelogin`;
      return sendJson(res, 200, {
        user_code: started.userCode,
        device_code: started.deviceCode,
        verification_uri: verificationUri,
        expires_in: started.expiresIn,
        interval: ctx.deviceCodeIntervalSeconds(),
        message: `To sign in, use a web browser to open the page ${verificationUri} and enter the code ${started.userCode} to authenticate.`,
      });
    }
    const throttledFor = params.get('grant_type') === 'client_credentials' ? ctx.takeThrottle() : undefined;
    if (throttledFor !== undefined) {
      // As Entra throttles the client-credentials grant (MSAL's "client and server throttling"):
      // 429 with Retry-After; the body seen in the wild is plain text, not an OAuth error.
      res.writeHead(429, { 'content-type': 'text/plain', 'retry-after': String(throttledFor) }).end('Too Many Requests');
      return;
    }
    const response = await ctx.grants.handle(params, {
      tenantId,
      issuer: `${origin}/${tenantId}/v2.0`,
      federationIssuer: ctx.federationIssuer(),
      // The endpoint as the client addressed it, and by the tenant id when it used an alias.
      tokenEndpoints: [...new Set([`${origin}/${tenantSegment}/oauth2/v2.0/token`, `${origin}/${tenantId}/oauth2/v2.0/token`])],
    });
    return sendJson(res, 200, response);
  } catch (err) {
    if (err instanceof OAuthError) return sendOAuthError(res, err, origin, ctx.nowMs());
    if (err instanceof BodyTooLargeError) return sendJson(res, 413, { error: 'invalid_request', error_description: err.message });
    throw err;
  }
}
