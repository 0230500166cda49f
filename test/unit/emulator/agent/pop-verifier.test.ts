import { createHmac, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { errors, jwtVerify, SignJWT, type JWTPayload } from 'jose';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ARC_SERVER_APP_ID } from '../../../../src/azure/cloud.js';
import { createPopKey, type PopKey } from '../../../../src/azure/pop/pop-key.js';
import { signShr } from '../../../../src/azure/pop/shr.js';
import { createPopVerifier, type AccessTokenCheck, type PopRejectionReason, type PopVerifier } from '../../../../src/emulator/agent/pop-verifier.js';

const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const ISSUER = `https://login.microsoftonline.com/${TENANT}/v2.0`;
const OID = 'd4c3b2a1-6e5f-4a7b-8c9d-2e1f0a9b8c7d';
const ARM_ID = '/subscriptions/0b1f6471-1bf0-4dda-aec3-111122223333/resourceGroups/rg-arc/providers/Microsoft.Kubernetes/connectedClusters/edge-01';
const NOW_MS = Date.UTC(2026, 0, 15, 12, 0, 0);
const NOW_SEC = NOW_MS / 1000;

const b64 = (value: unknown): string => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value), 'utf8').toString('base64url');
const decode = (segment: string | undefined): any => JSON.parse(Buffer.from(segment ?? '', 'base64url').toString('utf8'));

/** Any header and payload, signed RS256 by `key` (or by `signer` for other algorithms). */
function craft(header: object, payload: object, key: KeyObject | ((input: string) => string)): string {
  const input = `${b64(header)}.${b64(payload)}`;
  const signature = typeof key === 'function' ? key(input) : sign('sha256', Buffer.from(input), key).toString('base64url');
  return `${input}.${signature}`;
}

describe('PoP verifier (the rules of kubeguard/guard)', () => {
  let client: PopKey;
  let stranger: PopKey;
  let issuerKey: KeyObject;
  let issuerPublic: KeyObject;
  let otherIssuerKey: KeyObject;
  let nowMs: number;
  let verifyPop: PopVerifier;
  let at: string;

  beforeAll(async () => {
    [client, stranger] = await Promise.all([createPopKey(), createPopKey()]);
    ({ privateKey: issuerKey, publicKey: issuerPublic } = generateKeyPairSync('rsa', { modulusLength: 2048 }));
    otherIssuerKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  });

  /** An Entra-shaped access token bound to `client` unless `cnf` is overridden. */
  function accessToken(claims: JWTPayload = {}, signer: KeyObject = issuerKey): Promise<string> {
    return new SignJWT({
      iss: ISSUER,
      aud: ARC_SERVER_APP_ID,
      tid: TENANT,
      oid: OID,
      iat: NOW_SEC - 60,
      nbf: NOW_SEC - 60,
      exp: NOW_SEC + 3600,
      cnf: { kid: client.kid, xms_ksl: 'sw' },
      ...claims,
    })
      .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: 'issuer-key-1' })
      .sign(signer);
  }

  /** The caller's Entra check: the verifier only decides whether to trust what it returns. */
  async function verifyAccessToken(token: string): Promise<AccessTokenCheck> {
    try {
      const { payload } = await jwtVerify(token, issuerPublic, {
        issuer: ISSUER,
        audience: ARC_SERVER_APP_ID,
        algorithms: ['RS256'],
        currentDate: new Date(nowMs),
      });
      return { ok: true, claims: payload };
    } catch (err) {
      return { ok: false, message: err instanceof errors.JWTExpired ? 'it has expired.' : 'it is not a valid Microsoft Entra access token.' };
    }
  }

  /** The SHR payload kubelogin writes, for crafting variants of it. */
  const shrPayload = (overrides: Record<string, unknown> = {}, key: PopKey = client) => ({
    at,
    ts: NOW_SEC,
    u: ARM_ID,
    cnf: { jwk: { ...key.publicJwk, alg: 'RS256', kid: key.kid } },
    nonce: '00112233445566778899aabbccddeeff',
    ...overrides,
  });
  const shrHeader = (overrides: Record<string, unknown> = {}) => ({ typ: 'pop', alg: 'RS256', kid: client.kid, ...overrides });

  beforeEach(async () => {
    nowMs = NOW_MS;
    verifyPop = createPopVerifier({ clusterArmId: ARM_ID, verifyAccessToken, now: () => nowMs });
    at = await accessToken();
  });

  async function expectRejected(token: string, reason: PopRejectionReason, messagePart: RegExp): Promise<void> {
    const result = await verifyPop(token);
    expect(result).toMatchObject({ ok: false, reason });
    if (result.ok) return;
    expect(result.message).toMatch(messagePart);
    // Neither the SHR nor the access token inside it may appear in a message.
    expect(result.message).not.toContain(at);
    if (token.length > 20) expect(result.message).not.toContain(token);
  }

  describe('accepts', () => {
    it('an SHR made by signShr, returning the verified access-token claims and the key id', async () => {
      const result = await verifyPop(signShr({ accessToken: at, clusterArmId: ARM_ID, key: client, nowSec: NOW_SEC }));
      expect(result).toMatchObject({ ok: true, kid: client.kid, claims: { oid: OID, tid: TENANT, cnf: { kid: client.kid } } });
    });

    it('u in another letter case (guard compares with strings.EqualFold)', async () => {
      const result = await verifyPop(signShr({ accessToken: at, clusterArmId: ARM_ID.toUpperCase(), key: client, nowSec: NOW_SEC }));
      expect(result.ok).toBe(true);
    });

    it('an SHR exactly 15 minutes old', async () => {
      nowMs = NOW_MS + 15 * 60 * 1000;
      const result = await verifyPop(signShr({ accessToken: at, clusterArmId: ARM_ID, key: client, nowSec: NOW_SEC }));
      expect(result.ok).toBe(true);
    });

    it('a ts in the future: guard bounds only the age', async () => {
      const result = await verifyPop(signShr({ accessToken: at, clusterArmId: ARM_ID, key: client, nowSec: NOW_SEC + 3600 }));
      expect(result.ok).toBe(true);
    });

    it('ts written as a string of digits, and typ in capitals (guard accepts both)', async () => {
      const result = await verifyPop(craft(shrHeader({ typ: 'PoP' }), shrPayload({ ts: String(NOW_SEC) }), client.privateKey));
      expect(result.ok).toBe(true);
    });
  });

  describe('POP_NOT_SHR', () => {
    it.each([
      ['garbage', 'not a token at all'],
      ['two parts', 'eyJhbGciOiJSUzI1NiJ9.eyJ0cyI6MX0'],
      ['four parts', 'a.b.c.d'],
      ['an empty part', 'eyJhbGciOiJSUzI1NiJ9..c2ln'],
      ['parts that are not JSON', `${b64('foo')}.${b64('bar')}.c2ln`],
      ['a payload that is a JSON array', `${b64({ typ: 'pop', alg: 'RS256', kid: 'k' })}.${b64([1, 2])}.c2ln`],
      ['characters outside base64url', 'eyJhbGciOiJSUzI1NiJ9.eyJ0cyI6MX0=.c2ln'],
    ])('%s', async (_name, token) => {
      await expectRejected(token, 'POP_NOT_SHR', /not a proof-of-possession token/);
    });
  });

  describe('POP_BAD_HEADER', () => {
    it('a plain bearer access token (typ JWT), with a hint that PoP is enforced', async () => {
      const result = await verifyPop(at);
      expect(result).toMatchObject({ ok: false, reason: 'POP_BAD_HEADER' });
      expect(!result.ok && result.message).toMatch(/typ "JWT", not "pop"\. This is a plain bearer access token; this cluster enforces proof of possession/);
    });

    it('typ other than pop', async () => {
      await expectRejected(craft(shrHeader({ typ: 'at+jwt' }), shrPayload(), client.privateKey), 'POP_BAD_HEADER', /typ "at\+jwt", not "pop"/);
    });

    it('no typ', async () => {
      await expectRejected(craft(shrHeader({ typ: undefined }), shrPayload(), client.privateKey), 'POP_BAD_HEADER', /typ \(none\), not "pop"/);
    });

    it('HS256, even with a valid HMAC keyed by the public key (algorithm confusion)', async () => {
      const publicPem = client.privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
      const hmac = (input: string) => createHmac('sha256', publicPem).update(input).digest('base64url');
      await expectRejected(craft(shrHeader({ alg: 'HS256' }), shrPayload(), hmac), 'POP_BAD_HEADER', /alg "HS256"; only RS256 is accepted/);
    });

    it('alg none', async () => {
      await expectRejected(
        craft(shrHeader({ alg: 'none' }), shrPayload(), () => 'AA'),
        'POP_BAD_HEADER',
        /alg "none"/,
      );
    });

    it('no kid', async () => {
      await expectRejected(craft(shrHeader({ kid: undefined }), shrPayload(), client.privateKey), 'POP_BAD_HEADER', /no "kid"/);
    });
  });

  describe('POP_BAD_KEY', () => {
    it('no cnf', async () => {
      await expectRejected(craft(shrHeader(), shrPayload({ cnf: undefined }), client.privateKey), 'POP_BAD_KEY', /no usable RSA public key in cnf\.jwk/);
    });

    it('a cnf.jwk without string n and e', async () => {
      await expectRejected(craft(shrHeader(), shrPayload({ cnf: { jwk: { kty: 'RSA', n: 1, e: 'AQAB' } } }), client.privateKey), 'POP_BAD_KEY', /cnf\.jwk/);
    });
  });

  describe('POP_BAD_SIGNATURE', () => {
    it('a payload altered after signing', async () => {
      const [h, p, s] = signShr({ accessToken: at, clusterArmId: ARM_ID, key: client, nowSec: NOW_SEC }).split('.');
      const altered = b64({ ...decode(p), nonce: 'ffffffffffffffffffffffffffffffff' });
      await expectRejected(`${h}.${altered}.${s}`, 'POP_BAD_SIGNATURE', /does not verify with the RS256 key in its own cnf\.jwk/);
    });

    it('cnf.jwk swapped for another key, the signature left as it was', async () => {
      const [h, p, s] = signShr({ accessToken: at, clusterArmId: ARM_ID, key: client, nowSec: NOW_SEC }).split('.');
      const swapped = b64({ ...decode(p), cnf: { jwk: { ...stranger.publicJwk, alg: 'RS256', kid: stranger.kid } } });
      await expectRejected(`${h}.${swapped}.${s}`, 'POP_BAD_SIGNATURE', /signature does not verify/);
    });

    it('signed by a key other than the one in cnf.jwk', async () => {
      await expectRejected(craft(shrHeader(), shrPayload(), stranger.privateKey), 'POP_BAD_SIGNATURE', /altered or signed with another key/);
    });
  });

  describe('POP_STALE', () => {
    it('ts more than 15 minutes old', async () => {
      nowMs = NOW_MS + 15 * 60 * 1000 + 1000;
      await expectRejected(
        signShr({ accessToken: at, clusterArmId: ARM_ID, key: client, nowSec: NOW_SEC }),
        'POP_STALE',
        /signed 901 s ago and is accepted for 900 s/,
      );
    });

    it('no ts', async () => {
      await expectRejected(craft(shrHeader(), shrPayload({ ts: undefined }), client.privateKey), 'POP_STALE', /no "ts"/);
    });

    it('a ts that is not a number counts as 1970, as in guard', async () => {
      await expectRejected(craft(shrHeader(), shrPayload({ ts: 'yesterday' }), client.privateKey), 'POP_STALE', new RegExp(`signed ${NOW_SEC} s ago`));
    });

    it('follows a custom validity period', async () => {
      verifyPop = createPopVerifier({ clusterArmId: ARM_ID, verifyAccessToken, now: () => nowMs, validityMs: 60_000 });
      nowMs = NOW_MS + 61_000;
      await expectRejected(signShr({ accessToken: at, clusterArmId: ARM_ID, key: client, nowSec: NOW_SEC }), 'POP_STALE', /accepted for 60 s/);
    });
  });

  describe('POP_WRONG_HOST', () => {
    it('u naming another cluster', async () => {
      const other = ARM_ID.replace('edge-01', 'edge-02');
      await expectRejected(
        signShr({ accessToken: at, clusterArmId: other, key: client, nowSec: NOW_SEC }),
        'POP_WRONG_HOST',
        new RegExp(`is for "${other}", not for this cluster "${ARM_ID}"`),
      );
    });

    it('u as a host name instead of the ARM id', async () => {
      await expectRejected(
        signShr({ accessToken: at, clusterArmId: 'edge-01.example.com', key: client, nowSec: NOW_SEC }),
        'POP_WRONG_HOST',
        /is for "edge-01\.example\.com"/,
      );
    });

    it('no u', async () => {
      await expectRejected(craft(shrHeader(), shrPayload({ u: undefined }), client.privateKey), 'POP_WRONG_HOST', /no "u" claim/);
    });
  });

  describe('POP_BAD_ACCESS_TOKEN', () => {
    it('an expired access token', async () => {
      const expired = await accessToken({ exp: NOW_SEC - 10 });
      await expectRejected(
        signShr({ accessToken: expired, clusterArmId: ARM_ID, key: client, nowSec: NOW_SEC }),
        'POP_BAD_ACCESS_TOKEN',
        /rejected: it has expired/,
      );
    });

    it('an access token not signed by the trusted issuer', async () => {
      const forged = await accessToken({}, otherIssuerKey);
      await expectRejected(
        signShr({ accessToken: forged, clusterArmId: ARM_ID, key: client, nowSec: NOW_SEC }),
        'POP_BAD_ACCESS_TOKEN',
        /not a valid Microsoft Entra access token/,
      );
    });

    it('garbage as the access token', async () => {
      await expectRejected(signShr({ accessToken: 'garbage', clusterArmId: ARM_ID, key: client, nowSec: NOW_SEC }), 'POP_BAD_ACCESS_TOKEN', /was rejected/);
    });

    it('no at', async () => {
      await expectRejected(craft(shrHeader(), shrPayload({ at: undefined }), client.privateKey), 'POP_BAD_ACCESS_TOKEN', /carries no access token/);
    });

    it('a check that throws, even with the token in its error: the token is cut from the message', async () => {
      verifyPop = createPopVerifier({
        clusterArmId: ARM_ID,
        now: () => nowMs,
        verifyAccessToken: (token) => Promise.reject(new Error(`cannot parse ${token}`)),
      });
      await expectRejected(signShr({ accessToken: at, clusterArmId: ARM_ID, key: client, nowSec: NOW_SEC }), 'POP_BAD_ACCESS_TOKEN', /cannot parse \[token\]/);
    });
  });

  describe('POP_KEY_MISMATCH', () => {
    it("a stolen access token wrapped in an SHR signed by the thief's own key", async () => {
      await expectRejected(
        signShr({ accessToken: at, clusterArmId: ARM_ID, key: stranger, nowSec: NOW_SEC }),
        'POP_KEY_MISMATCH',
        new RegExp(`bound to key "${client.kid}", but the PoP token was signed with key "${stranger.kid}"`),
      );
    });

    it('an access token bound to another key than the one that signs', async () => {
      const boundElsewhere = await accessToken({ cnf: { kid: stranger.kid, xms_ksl: 'sw' } });
      await expectRejected(signShr({ accessToken: boundElsewhere, clusterArmId: ARM_ID, key: client, nowSec: NOW_SEC }), 'POP_KEY_MISMATCH', /bound to key/);
    });

    it('a bearer access token (no cnf) wrapped in an SHR', async () => {
      const bearer = await accessToken({ cnf: undefined });
      await expectRejected(
        signShr({ accessToken: bearer, clusterArmId: ARM_ID, key: client, nowSec: NOW_SEC }),
        'POP_KEY_MISMATCH',
        /no "cnf" claim.*token_type=pop/,
      );
    });

    it('a cnf without a string kid', async () => {
      const odd = await accessToken({ cnf: { jkt: client.kid } });
      await expectRejected(signShr({ accessToken: odd, clusterArmId: ARM_ID, key: client, nowSec: NOW_SEC }), 'POP_KEY_MISMATCH', /no string "kid"/);
    });
  });
});
