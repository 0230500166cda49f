import { describe, expect, it } from 'vitest';
import { jwkThumbprint } from '../../../../src/azure/pop/thumbprint.js';

// RFC 7638 §3.1: the RSA key of the worked example and the thumbprint the RFC gives for it.
const RFC_7638_JWK = {
  kty: 'RSA',
  n: '0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw',
  e: 'AQAB',
  alg: 'RS256',
  kid: '2011-04-29',
};
const RFC_7638_THUMBPRINT = 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs';

describe('jwkThumbprint (RFC 7638)', () => {
  it("gives RFC 7638 §3.1's own thumbprint for its example key", () => {
    expect(jwkThumbprint(RFC_7638_JWK)).toBe(RFC_7638_THUMBPRINT);
  });

  it('ignores members outside e, kty and n (alg, kid, use)', () => {
    expect(jwkThumbprint({ n: RFC_7638_JWK.n, e: RFC_7638_JWK.e })).toBe(RFC_7638_THUMBPRINT);
  });

  it('is base64url without padding: 43 characters for a SHA-256 digest', () => {
    expect(jwkThumbprint(RFC_7638_JWK)).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('changes when the key changes', () => {
    expect(jwkThumbprint({ n: RFC_7638_JWK.n, e: 'AQAD' })).not.toBe(RFC_7638_THUMBPRINT);
    expect(jwkThumbprint({ n: RFC_7638_JWK.n.replace(/^0/, '1'), e: 'AQAB' })).not.toBe(RFC_7638_THUMBPRINT);
  });
});
