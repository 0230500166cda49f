/**
 * The token client's side of the protocol against a scripted authority: exactly what it sends,
 * and how it treats answers Entra's emulator never gives (slow_down, declined and expired device
 * codes, an unbound or wrongly bound PoP token, malformed bodies).
 */
import { SignJWT, decodeJwt, decodeProtectedHeader } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createPopKey, reqCnf, type PopKey } from '../../../../src/azure/pop/pop-key.js';
import {
  EntraTokenError,
  pollDeviceCode,
  requestToken,
  startDeviceCode,
  type EntraEndpoint,
  type PopRequest,
  type TokenGrant,
} from '../../../../src/azure/pop/token-request.js';
import { closeCloudTransport } from '../../../../src/azure/transport.js';
import { ArcproxyError } from '../../../../src/errors/index.js';
import type { CloudProfile } from '../../../../src/net/cloud-profile.js';
import { makeRsaCertificate } from '../../emulator/entra/cert-fixture.js';
import { startScriptedAuthority, type ScriptedAuthority } from '../../emulator/entra/tls-fixture.js';

interface Seen {
  path: string;
  headers: Record<string, string | string[] | undefined>;
  form: Record<string, string>;
}
type Answer = { status: number; body: unknown };

const TENANT = 'contoso.example';

describe('token client protocol', () => {
  let authority: ScriptedAuthority;
  let cloud: CloudProfile;
  let endpoint: EntraEndpoint;
  let key: PopKey;
  let pop: PopRequest;
  let script: ((seen: Seen) => Answer | Promise<Answer>)[] = [];
  let seen: Seen[] = [];

  beforeAll(async () => {
    authority = await startScriptedAuthority(async (request) => {
      const s: Seen = { path: request.path, headers: request.headers, form: Object.fromEntries(new URLSearchParams(request.body)) };
      seen.push(s);
      const next = script.shift();
      const { status, body } = await (next ? next(s) : { status: 500, body: 'no script' });
      const text = typeof body === 'string' ? body : JSON.stringify(body);
      return { status, headers: { 'content-type': typeof body === 'string' ? 'text/html' : 'application/json' }, body: text };
    });
    cloud = authority.cloud;
    endpoint = { cloud, tenantId: TENANT };
    key = await createPopKey();
    pop = { reqCnf: reqCnf(key.kid), kid: key.kid };
  });
  afterEach(() => {
    script = [];
    seen = [];
  });
  afterAll(() => authority?.close());

  /** An unsigned-looking JWT is enough: the client decodes the access token, it never verifies it. */
  const jwt = (claims: Record<string, unknown>) => new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).sign(new Uint8Array(32));
  const tokenAnswer = async (extra: Record<string, unknown> = {}, claims: Record<string, unknown> = {}): Promise<Answer> => ({
    status: 200,
    body: { token_type: 'Bearer', expires_in: 3599, ext_expires_in: 3599, access_token: await jwt({ aud: 'x', ...claims }), ...extra },
  });
  const popAnswer = (cnfKid = key.kid) => tokenAnswer({ token_type: 'pop' }, { cnf: { kid: cnfKid, xms_ksl: 'sw' } });
  const oauthError = (error: string, code: number, status = 400): Answer => ({
    status,
    body: { error, error_description: `AADSTS${code}: ${error} happened.\r\nTrace ID: t\r\nCorrelation ID: c\r\nTimestamp: now`, error_codes: [code] },
  });
  const secret: TokenGrant = { kind: 'client_secret', clientId: 'client-1', clientSecret: 'the-client-secret-value' };
  const tokenPath = `/${TENANT}/oauth2/v2.0/token`;

  async function failure(promise: Promise<unknown>): Promise<EntraTokenError> {
    const err = await promise.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(EntraTokenError);
    return err as EntraTokenError;
  }

  describe('what is sent', () => {
    it('client secret with PoP: exactly the OAuth fields plus token_type and req_cnf, to the v2 token endpoint', async () => {
      script = [() => popAnswer()];
      const result = await requestToken(endpoint, secret, 'app/.default', { pop, now: () => 1_000_000 });
      expect(result).toMatchObject({ tokenType: 'pop', expiresOnMs: 1_000_000 + 3599_000 });
      expect(seen[0]!.path).toBe(tokenPath);
      expect(seen[0]!.form).toEqual({
        client_id: 'client-1',
        grant_type: 'client_credentials',
        client_secret: 'the-client-secret-value',
        scope: 'app/.default',
        token_type: 'pop',
        req_cnf: pop.reqCnf,
      });
      expect(seen[0]!.headers['content-type']).toBe('application/x-www-form-urlencoded;charset=utf-8');
      expect(seen[0]!.headers['client-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    });

    it("client certificate: a fresh assertion addressed to this authority's token endpoint", async () => {
      const cert = await makeRsaCertificate();
      script = [() => tokenAnswer(), () => tokenAnswer()];
      const grant: TokenGrant = { kind: 'client_certificate', clientId: 'client-1', certificatePem: `${cert.certPem}${cert.keyPem}` };
      await requestToken(endpoint, grant, 'app/.default');
      await requestToken(endpoint, grant, 'app/.default');
      const [a, b] = seen.map((s) => s.form);
      expect(a).toMatchObject({
        grant_type: 'client_credentials',
        client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
        scope: 'app/.default',
      });
      expect(a!.client_secret).toBeUndefined();
      expect(decodeProtectedHeader(a!.client_assertion!)).toMatchObject({ alg: 'RS256', 'x5t#S256': cert.x5tS256, x5t: cert.x5t });
      const claims = decodeJwt(a!.client_assertion!);
      expect(claims).toMatchObject({ aud: `${authority.origin}${tokenPath}`, iss: 'client-1', sub: 'client-1' });
      expect(claims.exp! - claims.nbf!).toBe(600);
      expect(decodeJwt(b!.client_assertion!).jti).not.toBe(claims.jti);
    });

    it('user flows ask for openid profile offline_access as MSAL does; the device-code grant type is the RFC 8628 URN', async () => {
      script = [
        () => ({ status: 200, body: { device_code: 'dc-123456', user_code: 'ABC', verification_uri: 'https://example/devicelogin', expires_in: 900 } }),
        () => tokenAnswer(),
        () => tokenAnswer(),
      ];
      const started = await startDeviceCode(endpoint, 'public', 'app/.default offline_access');
      expect(started).toEqual({
        deviceCode: 'dc-123456',
        userCode: 'ABC',
        verificationUri: 'https://example/devicelogin',
        expiresInSec: 900,
        intervalSec: 5,
        message: 'To sign in, use a web browser to open the page https://example/devicelogin and enter the code ABC to authenticate.',
      });
      await pollDeviceCode(endpoint, 'public', started.deviceCode, 'app/.default', { intervalSec: 5, expiresInSec: 900, sleep: async () => {} });
      await requestToken(endpoint, { kind: 'refresh_token', clientId: 'public', refreshToken: 'rt-abcdef' }, 'app/.default');
      expect(seen.map((s) => s.path)).toEqual([`/${TENANT}/oauth2/v2.0/devicecode`, tokenPath, tokenPath]);
      expect(seen[0]!.form).toEqual({ client_id: 'public', scope: 'app/.default offline_access openid profile' });
      expect(seen[1]!.form).toEqual({
        grant_type: 'urn:ietf:params:oauth:grant-type:device_code',
        client_id: 'public',
        device_code: 'dc-123456',
        scope: 'app/.default openid profile offline_access',
      });
      expect(seen[2]!.form).toEqual({
        client_id: 'public',
        grant_type: 'refresh_token',
        refresh_token: 'rt-abcdef',
        scope: 'app/.default openid profile offline_access',
      });
    });

    it('a req_cnf that is not for the given kid is a bug, caught before anything is sent', async () => {
      const err = await requestToken(endpoint, secret, 'app/.default', { pop: { reqCnf: reqCnf('another'), kid: key.kid } }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ArcproxyError);
      expect(err).toMatchObject({ code: 'ARCPROXY_INTERNAL' });
      expect(seen).toHaveLength(0);
    });
  });

  describe('device-code polling (RFC 8628)', () => {
    const poll = (sleeps: number[], extra: Partial<Parameters<typeof pollDeviceCode>[4]> = {}) =>
      pollDeviceCode(endpoint, 'public', 'dc-123456', 'app/.default', {
        intervalSec: 5,
        expiresInSec: 900,
        sleep: async (ms) => {
          sleeps.push(ms);
        },
        ...extra,
      });

    it('slow_down adds five seconds to the interval for the rest of the polling', async () => {
      script = [() => oauthError('slow_down', 70016), () => oauthError('authorization_pending', 70016), () => popAnswer()];
      const sleeps: number[] = [];
      const result = await poll(sleeps, { pop });
      expect(result.tokenType).toBe('pop');
      expect(sleeps).toEqual([10_000, 10_000]);
      expect(seen.every((s) => s.form.token_type === 'pop' && s.form.req_cnf === pop.reqCnf)).toBe(true);
    });

    it('expired_token and authorization_declined end polling with their own messages', async () => {
      script = [() => oauthError('authorization_pending', 70016), () => oauthError('expired_token', 70020)];
      const expired = await failure(poll([]));
      expect(expired).toMatchObject({ oauthError: 'expired_token', status: 400 });
      expect(expired.message).toMatch(/^The device code expired before the sign-in was completed/);
      script = [() => oauthError('authorization_declined', 70017)];
      expect((await failure(poll([]))).message).toBe('The device-code sign-in was declined in the browser.');
    });

    it('any other error ends polling as it came, without the device code in it', async () => {
      script = [
        () => ({
          status: 400,
          body: { error: 'invalid_grant', error_description: 'AADSTS70000: code dc-123456 is bad.\r\nTrace ID: t', error_codes: [70000] },
        }),
      ];
      const err = await failure(poll([]));
      expect(err.message).toBe('Microsoft Entra ID refused the token request (HTTP 400 invalid_grant AADSTS70000): code [redacted] is bad.');
    });
  });

  describe('what is accepted back', () => {
    it('a Bearer answer to a PoP request: the authority did not bind the token', async () => {
      script = [() => tokenAnswer()];
      const err = await failure(requestToken(endpoint, secret, 'app/.default', { pop }));
      expect(err.message).toMatch(/answered a proof-of-possession token request with a Bearer token: the authority did not bind the token/);
    });

    it('a pop answer whose access token is bound to another key, or to none, or is not a JWT', async () => {
      script = [() => popAnswer('some-other-kid')];
      expect((await failure(requestToken(endpoint, secret, 'app/.default', { pop }))).message).toMatch(
        /bound the token to key "some-other-kid", not to the requested key/,
      );
      script = [() => tokenAnswer({ token_type: 'pop' })];
      expect((await failure(requestToken(endpoint, secret, 'app/.default', { pop }))).message).toMatch(/has no cnf\.kid/);
      script = [() => ({ status: 200, body: { token_type: 'pop', expires_in: 60, access_token: 'opaque' } })];
      expect((await failure(requestToken(endpoint, secret, 'app/.default', { pop }))).message).toMatch(/not a JWT/);
    });

    it('a pop answer to a Bearer request is refused', async () => {
      script = [() => popAnswer()];
      expect((await failure(requestToken(endpoint, secret, 'app/.default'))).message).toMatch(
        /answered a Bearer token request with a proof-of-possession token/,
      );
    });

    it('token_type is compared case-insensitively; expires_in may be a numeric string', async () => {
      script = [async () => ({ status: 200, body: { token_type: 'bearer', expires_in: '120', access_token: await jwt({}) } })];
      expect(await requestToken(endpoint, secret, 'app/.default', { now: () => 0 })).toMatchObject({ tokenType: 'Bearer', expiresOnMs: 120_000 });
    });

    it('malformed answers are named, never echoed', async () => {
      const cases: [Answer, RegExp][] = [
        [{ status: 200, body: '<html>hello</html>' }, /answered a token request with something that is not a JSON object/],
        [{ status: 200, body: { token_type: 'Bearer', expires_in: 60 } }, /"access_token" is missing/],
        [{ status: 200, body: { token_type: 'mac', expires_in: 60, access_token: 'secret-at' } }, /token_type "mac", not "Bearer" or "pop"/],
        [{ status: 200, body: { token_type: 'Bearer', expires_in: -5, access_token: 'secret-at' } }, /"expires_in" is not a positive number/],
        [{ status: 200, body: { token_type: 'Bearer', expires_in: 60, access_token: 'secret-at', id_token: 'nope' } }, /"id_token" is not a JWT/],
        [{ status: 200, body: { token_type: 'Bearer', expires_in: 60, access_token: 'secret-at', client_info: 'e30' } }, /"client_info" is not base64url JSON/],
        [{ status: 503, body: '<html>busy</html>' }, /answered HTTP 503 without an OAuth error/],
      ];
      for (const [answer, pattern] of cases) {
        script = [() => answer];
        const err = await failure(requestToken(endpoint, secret, 'app/.default'));
        expect(err.message, JSON.stringify(answer)).toMatch(pattern);
        expect(err.message).not.toContain('secret-at');
      }
    });

    it('an error description that echoes the secret is scrubbed; only its first line is kept', async () => {
      script = [
        () => ({
          status: 401,
          body: {
            error: 'invalid_client',
            error_description: 'AADSTS7000215: secret the-client-secret-value is wrong; Bearer abc.def\r\nTrace ID: 1',
            error_codes: [7000215],
            trace_id: 'trace-1',
            correlation_id: 'corr-1',
          },
        }),
      ];
      const err = await failure(requestToken(endpoint, secret, 'app/.default'));
      expect(err.message).toBe(
        'Microsoft Entra ID refused the token request (HTTP 401 invalid_client AADSTS7000215): secret [redacted] is wrong; Bearer [redacted] [trace id trace-1, correlation id corr-1]',
      );
    });

    it('an authority that cannot be reached is named with the reason', async () => {
      const closed: CloudProfile = { ...cloud, authorityHost: 'https://127.0.0.1:1' };
      const err = await failure(requestToken({ cloud: closed, tenantId: TENANT }, secret, 'app/.default'));
      expect(err.message).toMatch(/^Could not reach Microsoft Entra ID at https:\/\/127\.0\.0\.1:1 \(ECONNREFUSED: /);
      closeCloudTransport(closed);
    });
  });
});
