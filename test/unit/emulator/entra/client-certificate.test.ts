/**
 * Certificate credentials on the emulated Entra ID: a service principal whose seed entry holds a
 * certificate signs in with a client assertion signed by its key, under Entra's documented rules.
 */
import { createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ARC_SERVER_APP_ID, ARC_SERVER_SCOPE } from '../../../../src/azure/cloud.js';
import { createPopKey, reqCnf } from '../../../../src/azure/pop/pop-key.js';
import { X509Certificate } from 'node:crypto';
import { certificateThumbprints } from '../../../../src/azure/pop/client-certificate.js';
import { createEntraEmulator, type EntraEmulator } from '../../../../src/emulator/entra/index.js';
import { defaultSeed, findPrincipal, type Seed } from '../../../../src/emulator/seed.js';
import { certificateAssertion, makeRsaCertificate, type AssertionOptions, type TestCertificate } from './cert-fixture.js';
import { form, httpsRequest, makeTestTls } from './tls-fixture.js';

describe('Entra emulator: certificate credentials', () => {
  let seed: Seed;
  let entra: EntraEmulator;
  let ca: string;
  let cert: TestCertificate;
  let clientId: string;
  const clockMs = Date.UTC(2030, 0, 1);
  const nowSec = clockMs / 1000;
  const tokenUrl = () => `${entra.url}/${seed.tenantId}/oauth2/v2.0/token`;

  beforeAll(async () => {
    cert = await makeRsaCertificate();
    seed = defaultSeed();
    const ci = findPrincipal(seed, 'ci');
    ci.clientCertificate = cert.certPem;
    clientId = ci.clientId!;
    const tls = await makeTestTls();
    ca = tls.ca;
    entra = await createEntraEmulator({ seed, tls: tls.server, now: () => clockMs });
  });
  afterAll(async () => {
    await entra?.close();
  });

  const assertion = (opts: Partial<AssertionOptions> = {}, c = cert) => certificateAssertion(c, { clientId, audience: tokenUrl(), nowSec, ...opts });
  const redeem = (clientAssertion: string, extra: Record<string, string> = {}, url = tokenUrl()) =>
    httpsRequest(
      url,
      ca,
      form({
        grant_type: 'client_credentials',
        client_id: clientId,
        scope: ARC_SERVER_SCOPE,
        client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
        client_assertion: clientAssertion,
        ...extra,
      }),
    );

  it('certificateThumbprints gives the x5t and x5t#S256 of the DER', () => {
    expect(certificateThumbprints(new X509Certificate(cert.certPem))).toEqual({ x5t: cert.x5t, x5tS256: cert.x5tS256 });
  });

  it('accepts an RS256 assertion naming the certificate by x5t#S256 and issues a token for the principal', async () => {
    const res = await redeem(await assertion());
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.token_type).toBe('Bearer');
    expect(decodeJwt(res.body.access_token)).toMatchObject({ aud: ARC_SERVER_APP_ID, appid: clientId, oid: findPrincipal(seed, 'ci').objectId });
  });

  it('accepts PS256, and a header with only the SHA-1 x5t', async () => {
    expect((await redeem(await assertion({ alg: 'PS256' }))).status).toBe(200);
    expect((await redeem(await assertion({ header: { 'x5t#S256': undefined } }))).status).toBe(200);
  });

  it('accepts an assertion addressed to the endpoint through a tenant alias it was sent to', async () => {
    const url = `${entra.url}/organizations/oauth2/v2.0/token`;
    expect((await redeem(await assertion({ audience: url }), {}, url)).status).toBe(200);
  });

  it('binds the token with PoP', async () => {
    const key = await createPopKey();
    const res = await redeem(await assertion(), { token_type: 'pop', req_cnf: reqCnf(key.kid) });
    expect(res.body.token_type).toBe('pop');
    expect(decodeJwt(res.body.access_token).cnf).toEqual({ kid: key.kid, xms_ksl: 'sw' });
  });

  it('refuses a certificate the principal does not have: AADSTS700027, key not found', async () => {
    const other = await makeRsaCertificate('someone else');
    const res = await redeem(await assertion({}, other));
    expect(res.status).toBe(401);
    expect(res.body).toMatchObject({ error: 'invalid_client', error_codes: [700027] });
    expect(res.body.error_description).toContain('The key was not found.');
    expect(res.body.error_description).toContain(Buffer.from(other.x5tS256, 'base64url').toString('hex').toUpperCase());
  });

  it('refuses an assertion signed with another key under the right thumbprint: AADSTS700027, signature', async () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const res = await redeem(await assertion({ key: createPrivateKey(privateKey.export({ type: 'pkcs8', format: 'pem' })) }));
    expect(res.body.error_codes).toEqual([700027]);
    expect(res.body.error_description).toContain('did not match the expected signature value');
  });

  it('refuses a principal without a certificate: AADSTS700027', async () => {
    const viewer = findPrincipal(seed, 'viewer');
    const res = await redeem(await assertion({ clientId: viewer.clientId! }), { client_id: viewer.clientId! });
    expect(res.body.error_codes).toEqual([700027]);
  });

  it('refuses a wrong audience (AADSTS700023), an iss/sub of another app (AADSTS700021) and an expired one (AADSTS700024)', async () => {
    expect((await redeem(await assertion({ audience: `${entra.url}/${seed.tenantId}/v2.0` }))).body.error_codes).toEqual([700023]);
    const other = findPrincipal(seed, 'viewer').clientId!;
    expect((await redeem(await assertion({ claims: { iss: other, sub: other } }))).body.error_codes).toEqual([700021]);
    expect((await redeem(await assertion({ claims: { exp: nowSec - 301 } }))).body.error_codes).toEqual([700024]);
    expect((await redeem(await assertion({ claims: { nbf: nowSec + 301, exp: nowSec + 1200 } }))).body.error_codes).toEqual([700024]);
    // Within the five minutes of clock skew allowed.
    expect((await redeem(await assertion({ claims: { nbf: nowSec + 60, exp: nowSec - 60 } }))).status).toBe(200);
  });

  it('refuses a header without thumbprint, a missing claim or an unsupported algorithm: AADSTS50027', async () => {
    const noThumbprint = await redeem(await assertion({ header: { 'x5t#S256': undefined, x5t: undefined } }));
    expect(noThumbprint.body).toMatchObject({ error: 'invalid_request', error_codes: [50027] });
    expect(noThumbprint.body.error_description).toContain('No certificate thumbprint');
    for (const claim of ['jti', 'exp', 'nbf']) {
      expect((await redeem(await assertion({ claims: { [claim]: undefined } }))).body.error_codes, claim).toEqual([50027]);
    }
    const unsigned = `${Buffer.from(JSON.stringify({ alg: 'none', 'x5t#S256': cert.x5tS256 })).toString('base64url')}.${Buffer.from(
      JSON.stringify({ iss: clientId, sub: clientId, aud: tokenUrl(), exp: nowSec + 60 }),
    ).toString('base64url')}.`;
    expect((await redeem(unsigned)).body.error_codes).toEqual([50027]);
  });
});
