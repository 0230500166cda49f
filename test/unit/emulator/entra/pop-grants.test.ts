/**
 * The emulated Entra ID's token endpoint with proof of possession: every grant issues a token
 * bound to the requested key (token_type pop, `cnf` claim) when asked with token_type=pop and
 * req_cnf, and an ordinary Bearer token otherwise; malformed PoP requests are refused.
 */
import { decodeJwt, type JWTPayload } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ARC_SERVER_APP_ID, ARC_SERVER_SCOPE } from '../../../../src/azure/cloud.js';
import { AZURE_CLI_CLIENT_ID } from '../../../../src/azure/credentials.js';
import { createPopKey, reqCnf, type PopKey } from '../../../../src/azure/pop/pop-key.js';
import { signShr } from '../../../../src/azure/pop/shr.js';
import { createPopVerifier } from '../../../../src/emulator/agent/pop-verifier.js';
import { createEntraEmulator, type EntraEmulator } from '../../../../src/emulator/entra/index.js';
import { defaultSeed, findPrincipal } from '../../../../src/emulator/seed.js';
import { form, httpsRequest, makeTestTls, type JsonResponse } from './tls-fixture.js';

const ARM_SCOPE = 'https://management.core.windows.net//.default';
const CLUSTER_ID = '/subscriptions/s/resourceGroups/demo-rg/providers/Microsoft.Kubernetes/connectedClusters/demo';

describe('Entra emulator: proof-of-possession tokens', () => {
  const seed = defaultSeed();
  const ci = findPrincipal(seed, 'ci');
  let entra: EntraEmulator;
  let ca: string;
  let key: PopKey;
  let pop: Record<string, string>;
  const clockMs = Date.UTC(2030, 0, 1);
  const tokenUrl = () => `${entra.url}/${seed.tenantId}/oauth2/v2.0/token`;
  const post = (fields: Record<string, string>, url = tokenUrl()) => httpsRequest(url, ca, form(fields));
  const secretGrant = (extra: Record<string, string> = {}) =>
    post({ grant_type: 'client_credentials', client_id: ci.clientId!, client_secret: ci.clientSecret!, scope: ARC_SERVER_SCOPE, ...extra });

  beforeAll(async () => {
    const tls = await makeTestTls();
    ca = tls.ca;
    entra = await createEntraEmulator({ seed, tls: tls.server, now: () => clockMs });
    key = await createPopKey();
    pop = { token_type: 'pop', req_cnf: reqCnf(key.kid) };
  });
  afterAll(async () => {
    await entra?.close();
  });

  function expectPop(res: JsonResponse): Record<string, unknown> {
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.token_type).toBe('pop');
    const claims = decodeJwt(res.body.access_token);
    expect(claims.cnf).toEqual({ kid: key.kid, xms_ksl: 'sw' });
    return claims;
  }

  function expectBearer(res: JsonResponse): Record<string, unknown> {
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.token_type).toBe('Bearer');
    const claims = decodeJwt(res.body.access_token);
    expect(claims.cnf).toBeUndefined();
    return claims;
  }

  describe('client credentials with a secret', () => {
    it('binds the token to the key in req_cnf', async () => {
      const claims = expectPop(await secretGrant(pop));
      expect(claims).toMatchObject({ aud: ARC_SERVER_APP_ID, oid: ci.objectId, appid: ci.clientId });
    });

    it('stays Bearer without token_type=pop, and with req_cnf alone', async () => {
      expectBearer(await secretGrant());
      expectBearer(await secretGrant({ req_cnf: pop.req_cnf! }));
      expectBearer(await secretGrant({ token_type: 'Bearer' }));
    });

    it('the bound token passes a PoP-enforcing cluster inside an SHR signed with that key', async () => {
      const res = await secretGrant(pop);
      const verify = createPopVerifier({
        clusterArmId: CLUSTER_ID,
        now: () => clockMs,
        verifyAccessToken: async (at) => ({ ok: true, claims: (await entra.verifyAccessToken(at, { audience: ARC_SERVER_APP_ID })) as unknown as JWTPayload }),
      });
      const shr = signShr({ accessToken: res.body.access_token, clusterArmId: CLUSTER_ID, key, nowSec: clockMs / 1000 });
      expect(await verify(shr)).toMatchObject({ ok: true, kid: key.kid });

      const other = await createPopKey();
      const forged = signShr({ accessToken: res.body.access_token, clusterArmId: CLUSTER_ID, key: other, nowSec: clockMs / 1000 });
      expect(await verify(forged)).toMatchObject({ ok: false, reason: 'POP_KEY_MISMATCH' });
    });
  });

  describe('client credentials with a federated assertion', () => {
    const federated = async (extra: Record<string, string> = {}) =>
      post({
        grant_type: 'client_credentials',
        client_id: ci.clientId!,
        scope: ARC_SERVER_SCOPE,
        client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
        client_assertion: await entra.mintFederatedToken(ci.clientId!),
        ...extra,
      });

    it('binds with PoP and stays Bearer without', async () => {
      expect(expectPop(await federated(pop)).oid).toBe(ci.objectId);
      expectBearer(await federated());
    });
  });

  describe('device code and refresh token', () => {
    async function deviceSignIn(extra: Record<string, string> = {}, scope = `${ARM_SCOPE} offline_access openid profile`): Promise<JsonResponse> {
      const start = await post({ client_id: AZURE_CLI_CLIENT_ID, scope }, `${entra.url}/organizations/oauth2/v2.0/devicecode`);
      return post({
        grant_type: 'urn:ietf:params:oauth:grant-type:device_code',
        client_id: AZURE_CLI_CLIENT_ID,
        device_code: start.body.device_code,
        ...extra,
      });
    }

    it('device code binds with PoP and stays Bearer without', async () => {
      const user = findPrincipal(seed, 'developer');
      const bound = expectPop(await deviceSignIn(pop, ARC_SERVER_SCOPE));
      expect(bound).toMatchObject({ aud: ARC_SERVER_APP_ID, oid: user.objectId });
      expectBearer(await deviceSignIn());
    });

    it('a device code answers authorization_pending (AADSTS70016) for the configured polls, then the token', async () => {
      entra.setDeviceCodePendingPolls(2);
      try {
        const start = await post({ client_id: AZURE_CLI_CLIENT_ID, scope: ARC_SERVER_SCOPE }, `${entra.url}/${seed.tenantId}/oauth2/v2.0/devicecode`);
        const poll = () => post({ grant_type: 'device_code', client_id: AZURE_CLI_CLIENT_ID, device_code: start.body.device_code, ...pop });
        for (let i = 0; i < 2; i++) {
          const pending = await poll();
          expect(pending.status).toBe(400);
          expect(pending.body).toMatchObject({ error: 'authorization_pending', error_codes: [70016] });
        }
        expectPop(await poll());
        expect((await poll()).body.error).toBe('invalid_grant');
      } finally {
        entra.setDeviceCodePendingPolls(0);
      }
      expect(() => entra.setDeviceCodePendingPolls(-1)).toThrow(RangeError);
    });

    it('with manual approval a device code stays pending until its user approves the code it was given', async () => {
      entra.setDeviceCodeApproval('manual', 1);
      try {
        const start = await post({ client_id: AZURE_CLI_CLIENT_ID, scope: ARC_SERVER_SCOPE }, `${entra.url}/${seed.tenantId}/oauth2/v2.0/devicecode`);
        expect(start.body.interval).toBe(1);
        const poll = () => post({ grant_type: 'device_code', client_id: AZURE_CLI_CLIENT_ID, device_code: start.body.device_code, ...pop });
        for (let i = 0; i < 3; i++) expect((await poll()).body.error).toBe('authorization_pending');
        expect(entra.approveDeviceCode('NOTACODE2')).toBe(false);
        expect(entra.approveDeviceCode(String(start.body.user_code).toLowerCase())).toBe(true);
        expectPop(await poll());
        expect(entra.approveDeviceCode(start.body.user_code as string)).toBe(false);
      } finally {
        entra.setDeviceCodeApproval('automatic');
      }
      expect(() => entra.setDeviceCodeApproval('manual', 0)).toThrow(RangeError);
    });

    it("a polling client that did not start the code gets invalid_grant and does not use up the owner's code", async () => {
      const start = await post({ client_id: AZURE_CLI_CLIENT_ID, scope: ARM_SCOPE }, `${entra.url}/${seed.tenantId}/oauth2/v2.0/devicecode`);
      const intruder = await post({ grant_type: 'device_code', client_id: 'someone-else', device_code: start.body.device_code });
      expect(intruder.body.error).toBe('invalid_grant');
      expectBearer(await post({ grant_type: 'device_code', client_id: AZURE_CLI_CLIENT_ID, device_code: start.body.device_code }));
    });

    it('gives a refresh token only to a sign-in that asked for offline_access, as Entra does', async () => {
      expect((await deviceSignIn({}, ARM_SCOPE)).body.refresh_token).toBeUndefined();
      expect((await deviceSignIn({}, `${ARM_SCOPE} offline_access`)).body.refresh_token).toEqual(expect.any(String));
    });

    it('a device-code poll gets the scope the sign-in started with, whatever scope the poll names', async () => {
      const start = await post({ client_id: AZURE_CLI_CLIENT_ID, scope: `${ARM_SCOPE} offline_access` }, `${entra.url}/organizations/oauth2/v2.0/devicecode`);
      const res = await post({ grant_type: 'device_code', client_id: AZURE_CLI_CLIENT_ID, device_code: start.body.device_code, scope: ARC_SERVER_SCOPE });
      expect(expectBearer(res).aud).toBe('https://management.core.windows.net/');
    });

    it('a refresh token from an ARM sign-in is redeemed for the Arc server app, bound with PoP or Bearer', async () => {
      const signIn = expectBearer(await deviceSignIn());
      expect(signIn.aud).toBe('https://management.core.windows.net/');
      const first = await deviceSignIn();
      const refresh = (extra: Record<string, string> = {}) =>
        post({ grant_type: 'refresh_token', client_id: AZURE_CLI_CLIENT_ID, refresh_token: first.body.refresh_token, scope: ARC_SERVER_SCOPE, ...extra });

      const bound = await refresh(pop);
      expect(expectPop(bound).aud).toBe(ARC_SERVER_APP_ID);
      expect(bound.body.refresh_token).toEqual(expect.any(String));
      expect(expectBearer(await refresh()).aud).toBe(ARC_SERVER_APP_ID);
      expect((await refresh({ client_id: 'someone-else' })).body.error).toBe('invalid_grant');
    });
  });

  describe('malformed PoP requests', () => {
    it('token_type=pop without req_cnf is invalid_request AADSTS900144', async () => {
      const res = await secretGrant({ token_type: 'pop' });
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ error: 'invalid_request', error_codes: [900144] });
      expect(res.body.error_description).toMatch(/^AADSTS900144: .*'req_cnf'/);
    });

    it('a req_cnf that is not base64url JSON with a string kid is invalid_request AADSTS90100', async () => {
      const b64 = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');
      const bad = [
        '{"kid":"abc"}', // raw JSON, not encoded
        'not base64url!',
        b64('not json'),
        b64([key.kid]),
        b64({ kid: 42 }),
        b64({ kid: '' }),
        b64({ xms_ksl: 'sw' }),
        b64({ kid: 'k'.repeat(600) }),
      ];
      for (const req_cnf of bad) {
        const res = await secretGrant({ token_type: 'pop', req_cnf });
        expect(res.status, req_cnf).toBe(400);
        expect(res.body, req_cnf).toMatchObject({ error: 'invalid_request', error_codes: [90100] });
        expect(res.body.error_description).toMatch(/^AADSTS90100: The 'req_cnf' parameter is empty or not valid\./);
      }
    });

    it('a padded req_cnf is accepted', async () => {
      const padded = Buffer.from(JSON.stringify({ kid: key.kid, xms_ksl: 'sw' })).toString('base64');
      expect(padded).toMatch(/=$/);
      expectPop(await secretGrant({ token_type: 'pop', req_cnf: padded.replace(/\+/g, '-').replace(/\//g, '_') }));
    });

    it('an unknown token_type is invalid_request AADSTS90100', async () => {
      const res = await secretGrant({ token_type: 'mac', req_cnf: pop.req_cnf! });
      expect(res.body).toMatchObject({ error: 'invalid_request', error_codes: [90100] });
      expect(res.body.error_description).toContain("'token_type'");
    });

    it('an unsupported grant is still unsupported_grant_type first', async () => {
      const res = await post({ grant_type: 'password', token_type: 'pop' });
      expect(res.body.error).toBe('unsupported_grant_type');
    });
  });
});
