/**
 * arcproxy's own token client against the emulated Entra ID, reached by name through the cloud
 * profile's host map with TLS verified against its CA: every grant with and without proof of
 * possession, device-code polling, and the errors a user sees.
 */
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ARC_SERVER_APP_ID, ARC_SERVER_SCOPE } from '../../../../src/azure/cloud.js';
import { createPopKey, reqCnf, type PopKey } from '../../../../src/azure/pop/pop-key.js';
import { jwkThumbprint } from '../../../../src/azure/pop/thumbprint.js';
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
import { createEntraEmulator, type EntraEmulator } from '../../../../src/emulator/entra/index.js';
import { defaultSeed, findPrincipal } from '../../../../src/emulator/seed.js';
import { ExitCode } from '../../../../src/errors/index.js';
import type { CloudProfile } from '../../../../src/net/cloud-profile.js';
import { encryptedKeyPem, makeRsaCertificate, type TestCertificate } from '../../emulator/entra/cert-fixture.js';
import { makeTestTls } from '../../emulator/entra/tls-fixture.js';

const AUTHORITY_NAME = 'login.arcproxy-test.example';
const ARM_SCOPE = 'https://management.core.windows.net//.default';
const AZURE_CLI_CLIENT_ID = '04b07795-8ddb-461a-bbee-02f9e1bf7b46';

async function failure(promise: Promise<unknown>): Promise<EntraTokenError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(EntraTokenError);
  return err as EntraTokenError;
}

describe('requestToken, startDeviceCode and pollDeviceCode against the emulated Entra ID', () => {
  const seed = defaultSeed();
  const ci = findPrincipal(seed, 'ci');
  const user = findPrincipal(seed, 'developer');
  let entra: EntraEmulator;
  let cloud: CloudProfile;
  let endpoint: EntraEndpoint;
  let cert: TestCertificate;
  let key: PopKey;
  let pop: PopRequest;

  beforeAll(async () => {
    cert = await makeRsaCertificate();
    ci.clientCertificate = cert.certPem;
    const tls = await makeTestTls([AUTHORITY_NAME]);
    entra = await createEntraEmulator({ seed, tls: tls.server });
    const port = new URL(entra.url).port;
    cloud = {
      name: 'Test',
      resourceManagerEndpoint: 'https://127.0.0.1:1',
      resourceManagerAudience: 'https://management.core.windows.net/',
      // A name only the host map resolves: the request must go through the profile's transport.
      authorityHost: `https://${AUTHORITY_NAME}:${port}`,
      hostMap: { [AUTHORITY_NAME]: `127.0.0.1:${port}` },
      relaySuffix: 'relay.test',
      ca: tls.ca,
      disableInstanceDiscovery: true,
    };
    endpoint = { cloud, tenantId: seed.tenantId };
    key = await createPopKey();
    pop = { reqCnf: reqCnf(key.kid), kid: key.kid };
  });
  afterAll(async () => {
    closeCloudTransport(cloud);
    await entra?.close();
  });

  const secretGrant = (clientSecret = ci.clientSecret!): TokenGrant => ({ kind: 'client_secret', clientId: ci.clientId!, clientSecret });

  function expectBound(accessToken: string): Record<string, unknown> {
    const claims = decodeJwt(accessToken);
    expect(claims.cnf).toEqual({ kid: jwkThumbprint(key.publicJwk), xms_ksl: 'sw' });
    return claims;
  }

  describe('client secret', () => {
    it('with PoP: token_type pop, bound to the key thumbprint, for the Arc server app', async () => {
      const before = Date.now();
      const result = await requestToken(endpoint, secretGrant(), ARC_SERVER_SCOPE, { pop });
      expect(result.tokenType).toBe('pop');
      expect(expectBound(result.accessToken)).toMatchObject({ aud: ARC_SERVER_APP_ID, appid: ci.clientId, oid: ci.objectId });
      expect(result.expiresOnMs).toBeGreaterThanOrEqual(before + seed.tokenLifetimeSeconds * 1000);
      expect(result.expiresOnMs).toBeLessThanOrEqual(Date.now() + seed.tokenLifetimeSeconds * 1000);
      expect(result.refreshToken).toBeUndefined();
    });

    it('without PoP: a Bearer token with no cnf', async () => {
      const result = await requestToken(endpoint, secretGrant(), ARC_SERVER_SCOPE);
      expect(result.tokenType).toBe('Bearer');
      expect(decodeJwt(result.accessToken).cnf).toBeUndefined();
    });

    it('a wrong secret is a clear AADSTS7000215 error without the secret', async () => {
      const err = await failure(requestToken(endpoint, secretGrant('definitely-wrong-secret'), ARC_SERVER_SCOPE, { pop }));
      expect(err).toMatchObject({ code: 'ARCPROXY_AUTH_FAILED', exitCode: ExitCode.authFailed, status: 401, oauthError: 'invalid_client', aadsts: 7000215 });
      expect(err.message).toMatch(/^Microsoft Entra ID refused the token request \(HTTP 401 invalid_client AADSTS7000215\): Invalid client secret provided\./);
      expect(err.message).toMatch(/\[trace id [0-9a-f-]+, correlation id [0-9a-f-]+\]$/);
      expect(err.message).not.toContain('definitely-wrong-secret');
      expect(err.message).not.toMatch(/\r|\n/);
    });

    it('an unknown client and an unknown tenant are AADSTS700016 and AADSTS90002', async () => {
      const unknown = await failure(requestToken(endpoint, { kind: 'client_secret', clientId: 'nobody', clientSecret: 'x'.repeat(20) }, ARC_SERVER_SCOPE));
      expect(unknown.aadsts).toBe(700016);
      const tenant = await failure(requestToken({ cloud, tenantId: 'not-a-tenant' }, secretGrant(), ARC_SERVER_SCOPE));
      expect(tenant).toMatchObject({ aadsts: 90002, oauthError: 'invalid_request' });
      const bad = await failure(requestToken({ cloud, tenantId: '../evil' }, secretGrant(), ARC_SERVER_SCOPE));
      expect(bad.message).toMatch(/is not a tenant id/);
    });

    it('without the profile CA the request fails: TLS verification stays on', async () => {
      const err = await failure(requestToken({ cloud: { ...cloud, ca: undefined }, tenantId: seed.tenantId }, secretGrant(), ARC_SERVER_SCOPE));
      expect(err.status).toBeUndefined();
      expect(err.message).toContain(`Could not reach Microsoft Entra ID at https://${AUTHORITY_NAME}:`);
      expect(err.message).toMatch(/not trusted/);
    });
  });

  describe('client certificate', () => {
    const certGrant = (certificatePem: string, password?: string): TokenGrant => ({
      kind: 'client_certificate',
      clientId: ci.clientId!,
      certificatePem,
      ...(password === undefined ? {} : { password }),
    });

    it('with and without PoP', async () => {
      const grant = certGrant(`${cert.certPem}\n${cert.keyPem}`);
      const bound = await requestToken(endpoint, grant, ARC_SERVER_SCOPE, { pop });
      expect(bound.tokenType).toBe('pop');
      expect(expectBound(bound.accessToken).oid).toBe(ci.objectId);
      const bearer = await requestToken(endpoint, grant, ARC_SERVER_SCOPE);
      expect(bearer.tokenType).toBe('Bearer');
      expect(decodeJwt(bearer.accessToken).cnf).toBeUndefined();
    });

    it('an encrypted key with its password; a wrong password is named, never quoted', async () => {
      const pem = `${encryptedKeyPem(cert, 'pem-password-123')}${cert.certPem}`;
      expect((await requestToken(endpoint, certGrant(pem, 'pem-password-123'), ARC_SERVER_SCOPE, { pop })).tokenType).toBe('pop');
      const err = await requestToken(endpoint, certGrant(pem, 'not-the-password'), ARC_SERVER_SCOPE).then(
        () => new Error('expected a failure'),
        (e: Error) => e,
      );
      expect(err).toMatchObject({ code: 'ARCPROXY_BAD_CLIENT_CERTIFICATE' });
      expect(err.message).toMatch(/cannot be decrypted: is the password right\?/);
      expect(err.message).not.toContain('not-the-password');
    });

    it('a certificate the principal does not have is AADSTS700027', async () => {
      const other = await makeRsaCertificate('other');
      const err = await failure(requestToken(endpoint, certGrant(`${other.certPem}${other.keyPem}`), ARC_SERVER_SCOPE));
      expect(err).toMatchObject({ status: 401, aadsts: 700027 });
      expect(err.message).toContain('The key was not found.');
    });
  });

  describe('federated client assertion (workload identity)', () => {
    it('with and without PoP, reading the token file for each request', async () => {
      let reads = 0;
      const grant: TokenGrant = {
        kind: 'client_assertion',
        clientId: ci.clientId!,
        getAssertion: async () => {
          reads++;
          return `${await entra.mintFederatedToken(ci.clientId!)}\n`;
        },
      };
      const bound = await requestToken(endpoint, grant, ARC_SERVER_SCOPE, { pop });
      expect(bound.tokenType).toBe('pop');
      expect(expectBound(bound.accessToken).appid).toBe(ci.clientId);
      expect((await requestToken(endpoint, grant, ARC_SERVER_SCOPE)).tokenType).toBe('Bearer');
      expect(reads).toBe(2);
    });

    it("another client's assertion is refused without the assertion in the message; a failing reader is named", async () => {
      const assertion = await entra.mintFederatedToken(findPrincipal(seed, 'viewer').clientId!);
      const err = await failure(
        requestToken(endpoint, { kind: 'client_assertion', clientId: ci.clientId!, getAssertion: async () => assertion }, ARC_SERVER_SCOPE),
      );
      expect(err.aadsts).toBe(700213);
      expect(err.message).not.toContain(assertion);
      const unreadable = await failure(
        requestToken(
          endpoint,
          {
            kind: 'client_assertion',
            clientId: ci.clientId!,
            getAssertion: () => Promise.reject(new Error('ENOENT: no such file /var/run/token')),
          },
          ARC_SERVER_SCOPE,
        ),
      );
      expect(unreadable.message).toBe('Reading the federated token for workload identity failed: ENOENT: no such file /var/run/token');
    });
  });

  describe('device code and refresh token', () => {
    it('polls through authorization_pending with the injected sleep, then gets a PoP token for the user', async () => {
      entra.setDeviceCodePendingPolls(2);
      try {
        const started = await startDeviceCode(endpoint, AZURE_CLI_CLIENT_ID, ARC_SERVER_SCOPE);
        expect(started).toMatchObject({
          intervalSec: 5,
          expiresInSec: 900,
          verificationUri: `https://${AUTHORITY_NAME}:${new URL(entra.url).port}/devicelogin`,
        });
        expect(started.message).toContain(started.userCode);
        const sleeps: number[] = [];
        const result = await pollDeviceCode(endpoint, AZURE_CLI_CLIENT_ID, started.deviceCode, ARC_SERVER_SCOPE, {
          pop,
          intervalSec: started.intervalSec,
          expiresInSec: started.expiresInSec,
          sleep: async (ms) => {
            sleeps.push(ms);
          },
        });
        expect(sleeps).toEqual([5000, 5000]);
        expect(result.tokenType).toBe('pop');
        expect(expectBound(result.accessToken)).toMatchObject({ aud: ARC_SERVER_APP_ID, oid: user.objectId, upn: user.upn });
        expect(result.refreshToken).toEqual(expect.any(String));
        expect(result.idTokenClaims).toMatchObject({ aud: AZURE_CLI_CLIENT_ID, oid: user.objectId, preferred_username: user.upn });
        expect(result.clientInfo).toEqual({ uid: user.objectId, utid: seed.tenantId });
      } finally {
        entra.setDeviceCodePendingPolls(0);
      }
    });

    it('without PoP a device-code sign-in gives a Bearer token', async () => {
      const started = await startDeviceCode(endpoint, AZURE_CLI_CLIENT_ID, ARM_SCOPE);
      const result = await pollDeviceCode(endpoint, AZURE_CLI_CLIENT_ID, started.deviceCode, ARM_SCOPE, {
        intervalSec: 5,
        expiresInSec: 900,
        sleep: async () => {},
      });
      expect(result.tokenType).toBe('Bearer');
      expect(decodeJwt(result.accessToken)).toMatchObject({ aud: 'https://management.core.windows.net/' });
    });

    it('a refresh token from an ARM sign-in gets the Arc server app token, with PoP and without', async () => {
      const started = await startDeviceCode(endpoint, AZURE_CLI_CLIENT_ID, ARM_SCOPE);
      const signIn = await pollDeviceCode(endpoint, AZURE_CLI_CLIENT_ID, started.deviceCode, ARM_SCOPE, {
        intervalSec: 5,
        expiresInSec: 900,
        sleep: async () => {},
      });
      const grant: TokenGrant = { kind: 'refresh_token', clientId: AZURE_CLI_CLIENT_ID, refreshToken: signIn.refreshToken! };
      const bound = await requestToken(endpoint, grant, ARC_SERVER_SCOPE, { pop });
      expect(bound.tokenType).toBe('pop');
      expect(expectBound(bound.accessToken)).toMatchObject({ aud: ARC_SERVER_APP_ID, oid: user.objectId });
      expect(bound.refreshToken).toEqual(expect.any(String));
      const bearer = await requestToken(endpoint, grant, ARC_SERVER_SCOPE);
      expect(bearer.tokenType).toBe('Bearer');
      expect(decodeJwt(bearer.accessToken).aud).toBe(ARC_SERVER_APP_ID);

      const err = await failure(requestToken(endpoint, { ...grant, clientId: 'another-client' }, ARC_SERVER_SCOPE));
      expect(err).toMatchObject({ oauthError: 'invalid_grant' });
      expect(err.message).not.toContain(signIn.refreshToken!);
    });

    it('an aborted signal stops polling, between polls and during the wait', async () => {
      entra.setDeviceCodePendingPolls(100);
      try {
        const started = await startDeviceCode(endpoint, AZURE_CLI_CLIENT_ID, ARC_SERVER_SCOPE);
        const controller = new AbortController();
        let polls = 0;
        const stopped = pollDeviceCode(endpoint, AZURE_CLI_CLIENT_ID, started.deviceCode, ARC_SERVER_SCOPE, {
          signal: controller.signal,
          intervalSec: 5,
          expiresInSec: 900,
          sleep: async () => {
            if (++polls === 2) controller.abort();
          },
        });
        await expect(stopped).rejects.toMatchObject({ name: 'AbortError' });
        expect(polls).toBe(2);

        // The built-in sleep waits the real interval (5 s); an abort ends it at once.
        const waiting = new AbortController();
        const t0 = Date.now();
        const pending = pollDeviceCode(endpoint, AZURE_CLI_CLIENT_ID, started.deviceCode, ARC_SERVER_SCOPE, {
          signal: waiting.signal,
          intervalSec: 5,
          expiresInSec: 900,
        });
        setTimeout(() => waiting.abort(), 100);
        await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
        expect(Date.now() - t0).toBeLessThan(3000);

        const already = new AbortController();
        already.abort();
        await expect(requestToken(endpoint, secretGrant(), ARC_SERVER_SCOPE, { signal: already.signal })).rejects.toMatchObject({ name: 'AbortError' });
      } finally {
        entra.setDeviceCodePendingPolls(0);
      }
    });

    it('stops when the code lifetime runs out while the sign-in is still pending', async () => {
      entra.setDeviceCodePendingPolls(100);
      try {
        const started = await startDeviceCode(endpoint, AZURE_CLI_CLIENT_ID, ARC_SERVER_SCOPE);
        let clock = 1_000_000;
        const err = await failure(
          pollDeviceCode(endpoint, AZURE_CLI_CLIENT_ID, started.deviceCode, ARC_SERVER_SCOPE, {
            intervalSec: 5,
            expiresInSec: 12,
            now: () => clock,
            sleep: async (ms) => {
              clock += ms;
            },
          }),
        );
        expect(err).toMatchObject({ oauthError: 'expired_token', code: 'ARCPROXY_AUTH_FAILED' });
        expect(err.message).toMatch(/device code expired/);
        expect(clock).toBe(1_010_000);
      } finally {
        entra.setDeviceCodePendingPolls(0);
      }
    });
  });
});
