import { compactVerify, importJWK } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { createPopKey, type PopKey } from '../../../../src/azure/pop/pop-key.js';
import { signShr } from '../../../../src/azure/pop/shr.js';

const ARM_ID = '/subscriptions/0b1f6471-1bf0-4dda-aec3-111122223333/resourceGroups/RG-Arc/providers/Microsoft.Kubernetes/connectedClusters/Edge-01';
// Not a real token: the SHR carries whatever it is given.
const ACCESS_TOKEN = 'eyJhbGciOiJSUzI1NiJ9.eyJjbmYiOnsia2lkIjoieCJ9fQ.c2ln';
const NOW_SEC = 1_767_225_600;

const segment = (token: string, index: number): string => Buffer.from(token.split('.')[index] ?? '', 'base64url').toString('utf8');

describe('signShr', () => {
  let key: PopKey;

  beforeAll(async () => {
    key = await createPopKey();
  });

  const shr = (nonce?: string) => signShr({ accessToken: ACCESS_TOKEN, clusterArmId: ARM_ID, key, nowSec: NOW_SEC, nonce });

  it('is a compact JWS of three base64url parts', () => {
    expect(shr()).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
  });

  it("has kubelogin's header, byte for byte", () => {
    expect(segment(shr(), 0)).toBe(`{"typ":"pop","alg":"RS256","kid":"${key.kid}"}`);
  });

  it("has kubelogin's payload members in kubelogin's order, with u as given", () => {
    const raw = segment(shr('00112233445566778899aabbccddeeff'), 1);
    const { e, n } = key.publicJwk;
    expect(raw).toBe(
      `{"at":"${ACCESS_TOKEN}","ts":${NOW_SEC},"u":"${ARM_ID}","cnf":{"jwk":{"e":"${e}","kty":"RSA","n":"${n}","alg":"RS256","kid":"${key.kid}"}},"nonce":"00112233445566778899aabbccddeeff"}`,
    );
  });

  it('writes ts as whole seconds', () => {
    const token = signShr({ accessToken: ACCESS_TOKEN, clusterArmId: ARM_ID, key, nowSec: NOW_SEC + 0.75 });
    expect(JSON.parse(segment(token, 1)).ts).toBe(NOW_SEC);
  });

  it('makes a fresh 32-hex-character nonce for each SHR unless given one', () => {
    const a = JSON.parse(segment(shr(), 1)).nonce as string;
    const b = JSON.parse(segment(shr(), 1)).nonce as string;
    expect(a).toMatch(/^[0-9a-f]{32}$/);
    expect(b).toMatch(/^[0-9a-f]{32}$/);
    expect(a).not.toBe(b);
    expect(JSON.parse(segment(shr('fixed'), 1)).nonce).toBe('fixed');
  });

  it('is signed RS256 by the PoP key: jose verifies it against cnf.jwk', async () => {
    const token = shr();
    const jwk = JSON.parse(segment(token, 1)).cnf.jwk;
    const { protectedHeader } = await compactVerify(token, await importJWK(jwk, 'RS256'), { algorithms: ['RS256'] });
    expect(protectedHeader).toEqual({ typ: 'pop', alg: 'RS256', kid: key.kid });
  });

  it('does not verify under another key', async () => {
    const other = await createPopKey();
    await expect(compactVerify(shr(), await importJWK({ ...other.publicJwk }, 'RS256'))).rejects.toThrow(/signature verification failed/);
  });

  it('refuses a signing time that is not a number', () => {
    expect(() => signShr({ accessToken: ACCESS_TOKEN, clusterArmId: ARM_ID, key, nowSec: Number.NaN })).toThrow(/finite signing time/);
  });
});
