/** The emulated Entra ID over HTTPS: discovery, keys, grants, errors and token validation. */
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ARC_SERVER_APP_ID, ARC_SERVER_SCOPE } from '../../../../src/azure/cloud.js';
import { AZURE_CLI_CLIENT_ID } from '../../../../src/azure/credentials.js';
import { createEntraEmulator, type EntraEmulator, TokenValidationError } from '../../../../src/emulator/entra/index.js';
import { defaultSeed, findPrincipal } from '../../../../src/emulator/seed.js';
import { form, httpsRequest, makeTestTls } from './tls-fixture.js';

const seed = defaultSeed();
const ci = findPrincipal(seed, 'ci');
const ARM_SCOPE = 'https://management.core.windows.net//.default';

describe('Entra emulator', () => {
  let entra: EntraEmulator;
  let ca: string;
  let clockMs = Date.UTC(2030, 0, 1);
  const tokenUrl = () => `${entra.url}/${seed.tenantId}/oauth2/v2.0/token`;
  const post = (url: string, fields: Record<string, string>) => httpsRequest(url, ca, form(fields));
  const clientCredentials = (extra: Record<string, string> = {}) =>
    post(tokenUrl(), { grant_type: 'client_credentials', client_id: ci.clientId!, client_secret: ci.clientSecret!, scope: ARM_SCOPE, ...extra });

  beforeAll(async () => {
    const tls = await makeTestTls();
    ca = tls.ca;
    entra = await createEntraEmulator({ seed, tls: tls.server, now: () => clockMs });
  });
  afterAll(async () => {
    await entra?.close();
  });

  describe('discovery', () => {
    it('serves an OpenID configuration pointing at itself', async () => {
      const res = await httpsRequest(`${entra.url}/${seed.tenantId}/v2.0/.well-known/openid-configuration`, ca);
      expect(res.status).toBe(200);
      expect(res.body.issuer).toBe(entra.issuer(seed.tenantId));
      expect(res.body.token_endpoint).toBe(tokenUrl());
      expect(res.body.device_authorization_endpoint).toBe(`${entra.url}/${seed.tenantId}/oauth2/v2.0/devicecode`);
      expect(res.body.authorization_endpoint).toMatch(new RegExp(`^${entra.url}/`));
      const keys = await httpsRequest(res.body.jwks_uri, ca);
      expect(keys.body).toEqual(entra.jwks());
      expect(keys.body.keys[0]).toMatchObject({ kty: 'RSA', use: 'sig', alg: 'RS256' });
      expect(keys.body.keys[0].d).toBeUndefined();
    });

    it('answers an unknown tenant with AADSTS90002', async () => {
      const res = await httpsRequest(`${entra.url}/not-a-tenant/v2.0/.well-known/openid-configuration`, ca);
      expect(res.status).toBe(400);
      expect(res.body.error).toBe('invalid_tenant');
      expect(res.body.error_codes).toEqual([90002]);
      expect(res.body.error_description).toMatch(/^AADSTS90002: Tenant 'not-a-tenant' not found\./);
    });

    it('answers 404 for unknown paths', async () => {
      expect((await httpsRequest(`${entra.url}/${seed.tenantId}/nothing/here`, ca)).status).toBe(404);
    });
  });

  describe('client credentials', () => {
    it('issues a signed RS256 token with the key id of the JWKS', async () => {
      const res = await clientCredentials();
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ token_type: 'Bearer', expires_in: seed.tokenLifetimeSeconds, ext_expires_in: seed.tokenLifetimeSeconds });
      expect(res.body.refresh_token).toBeUndefined();
      const header = decodeProtectedHeader(res.body.access_token);
      expect(header.alg).toBe('RS256');
      expect(entra.jwks().keys.map((k) => (k as { kid: string }).kid)).toContain(header.kid);
      const claims = decodeJwt(res.body.access_token);
      expect(claims).toMatchObject({
        aud: 'https://management.core.windows.net/',
        oid: ci.objectId,
        exp: Math.floor(clockMs / 1000) + seed.tokenLifetimeSeconds,
      });
    });

    it('a wrong secret is 401 invalid_client AADSTS7000215 with the real body shape', async () => {
      const res = await clientCredentials({ client_secret: 'wrong' });
      expect(res.status).toBe(401);
      expect(res.body).toMatchObject({ error: 'invalid_client', error_codes: [7000215] });
      expect(res.body.error_description).toMatch(/^AADSTS7000215: Invalid client secret provided\./);
      expect(res.body.error_description).not.toContain('wrong');
      for (const key of ['timestamp', 'trace_id', 'correlation_id', 'error_uri']) expect(res.body[key]).toBeTruthy();
    });

    it('an unknown client is 400 unauthorized_client AADSTS700016', async () => {
      const res = await clientCredentials({ client_id: '11111111-2222-3333-4444-555555555555' });
      expect(res.status).toBe(400);
      expect(res.body.error).toBe('unauthorized_client');
      expect(res.body.error_description).toContain(
        `AADSTS700016: Application with identifier '11111111-2222-3333-4444-555555555555' was not found in the directory '${seed.tenantId}'.`,
      );
    });

    it('an unknown tenant on the token endpoint is 400 invalid_request AADSTS90002', async () => {
      const res = await post(`${entra.url}/00000000-0000-0000-0000-000000000000/oauth2/v2.0/token`, { grant_type: 'client_credentials' });
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ error: 'invalid_request', error_codes: [90002] });
    });

    it('an unsupported grant is 400 unsupported_grant_type', async () => {
      const res = await post(tokenUrl(), { grant_type: 'password', client_id: ci.clientId! });
      expect(res.status).toBe(400);
      expect(res.body.error).toBe('unsupported_grant_type');
    });

    it('client_credentials needs a /.default scope', async () => {
      const res = await clientCredentials({ scope: 'https://management.azure.com/user_impersonation' });
      expect(res.status).toBe(400);
      expect(res.body.error).toBe('invalid_scope');
    });

    it('a federated assertion for another client is refused', async () => {
      const other = findPrincipal(seed, 'viewer');
      const res = await post(tokenUrl(), {
        grant_type: 'client_credentials',
        client_id: ci.clientId!,
        scope: ARM_SCOPE,
        client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
        client_assertion: await entra.mintFederatedToken(other.clientId!),
      });
      expect(res.status).toBe(400);
      expect(res.body.error_codes).toEqual([700213]);
    });
  });

  describe('device code', () => {
    it('starts, is redeemed once as the first user, and refreshes to another audience', async () => {
      const start = await post(`${entra.url}/organizations/oauth2/v2.0/devicecode`, {
        client_id: AZURE_CLI_CLIENT_ID,
        scope: `${ARM_SCOPE} offline_access openid profile`,
      });
      expect(start.status).toBe(200);
      expect(start.body).toMatchObject({ expires_in: 900, interval: 5, verification_uri: `${entra.url}/devicelogin` });
      expect(start.body.message).toContain(start.body.user_code);

      const grant = { grant_type: 'urn:ietf:params:oauth:grant-type:device_code', client_id: AZURE_CLI_CLIENT_ID, device_code: start.body.device_code };
      const token = await post(tokenUrl(), grant);
      expect(token.status).toBe(200);
      const user = seed.principals.find((p) => p.kind === 'user')!;
      expect(decodeJwt(token.body.access_token)).toMatchObject({ oid: user.objectId, upn: user.upn });
      expect(decodeJwt(token.body.id_token)).toMatchObject({ aud: AZURE_CLI_CLIENT_ID, oid: user.objectId });
      expect(token.body.client_info).toBeTruthy();
      expect(token.body.scope).toBe(ARM_SCOPE);

      const again = await post(tokenUrl(), grant);
      expect(again.status).toBe(400);
      expect(again.body.error).toBe('invalid_grant');

      const refreshed = await post(tokenUrl(), {
        grant_type: 'refresh_token',
        client_id: AZURE_CLI_CLIENT_ID,
        refresh_token: token.body.refresh_token,
        scope: `${ARC_SERVER_SCOPE} openid`,
      });
      expect(refreshed.status).toBe(200);
      expect(decodeJwt(refreshed.body.access_token).aud).toBe(ARC_SERVER_APP_ID);

      const otherClient = await post(tokenUrl(), {
        grant_type: 'refresh_token',
        client_id: 'someone-else',
        refresh_token: token.body.refresh_token,
        scope: ARC_SERVER_SCOPE,
      });
      expect(otherClient.status).toBe(400);
    });

    it('an application the tenant does not know gets AADSTS700016 and no code', async () => {
      const res = await post(`${entra.url}/${seed.tenantId}/oauth2/v2.0/devicecode`, { client_id: '11111111-2222-3333-4444-555555555555', scope: ARM_SCOPE });
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ error: 'unauthorized_client', error_codes: [700016] });
      expect(res.body.device_code).toBeUndefined();
    });

    it('an expired device code is refused with expired_token', async () => {
      const start = await post(`${entra.url}/${seed.tenantId}/oauth2/v2.0/devicecode`, { client_id: AZURE_CLI_CLIENT_ID, scope: ARM_SCOPE });
      clockMs += 16 * 60 * 1000;
      const res = await post(tokenUrl(), { grant_type: 'device_code', client_id: AZURE_CLI_CLIENT_ID, device_code: start.body.device_code });
      expect(res.status).toBe(400);
      expect(res.body.error).toBe('expired_token');
    });
  });

  describe('verifyAccessToken', () => {
    const codeOf = async (p: Promise<unknown>) => {
      try {
        await p;
      } catch (err) {
        expect(err).toBeInstanceOf(TokenValidationError);
        return (err as TokenValidationError).code;
      }
      throw new Error('expected the token to be refused');
    };

    it('accepts a fresh token for its audience and returns the claims', async () => {
      const { body } = await clientCredentials({ scope: ARC_SERVER_SCOPE });
      const claims = await entra.verifyAccessToken(body.access_token, { audience: [ARC_SERVER_APP_ID, 'other'] });
      expect(claims.oid).toBe(ci.objectId);
    });

    it('refuses another audience, an expired token, a forged signature and garbage', async () => {
      const { body } = await clientCredentials();
      const token: string = body.access_token;
      expect(await codeOf(entra.verifyAccessToken(token, { audience: ARC_SERVER_APP_ID }))).toBe('BAD_AUDIENCE');

      const [h, , s] = token.split('.');
      const tampered = `${h}.${Buffer.from(JSON.stringify({ ...decodeJwt(token), oid: 'someone-else' })).toString('base64url')}.${s}`;
      expect(await codeOf(entra.verifyAccessToken(tampered, { audience: 'https://management.core.windows.net/' }))).toBe('BAD_SIGNATURE');
      expect(await codeOf(entra.verifyAccessToken('not.a.jwt', { audience: 'x' }))).toBe('MALFORMED');

      const saved = clockMs;
      clockMs += (seed.tokenLifetimeSeconds + 1) * 1000;
      const err = await entra.verifyAccessToken(token, { audience: 'https://management.core.windows.net/' }).catch((e: unknown) => e);
      clockMs = saved;
      expect(err).toBeInstanceOf(TokenValidationError);
      expect((err as TokenValidationError).code).toBe('EXPIRED');
      expect((err as TokenValidationError).message).not.toContain(token);
    });

    it('setTokenLifetime changes the lifetime of new tokens', async () => {
      entra.setTokenLifetime(120);
      try {
        const { body } = await clientCredentials();
        expect(body.expires_in).toBe(120);
        const claims = decodeJwt(body.access_token);
        expect(claims.exp! - claims.iat!).toBe(120);
      } finally {
        entra.setTokenLifetime(seed.tokenLifetimeSeconds);
      }
      expect(() => entra.setTokenLifetime(0)).toThrow(RangeError);
    });
  });
});
