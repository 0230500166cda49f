import { describe, expect, it } from 'vitest';
import { GROUP_CLAIM_LIMIT, accessTokenClaims, clientInfo, idTokenClaims } from '../../../../src/emulator/entra/claims.js';
import { defaultSeed, findPrincipal } from '../../../../src/emulator/seed.js';

const seed = defaultSeed();
const ctx = {
  issuer: `https://127.0.0.1:1/${seed.tenantId}/v2.0`,
  tenantId: seed.tenantId,
  audience: 'https://management.core.windows.net/',
  clientId: 'client-x',
  nowSeconds: 1_700_000_000,
  lifetimeSeconds: 3600,
};

describe('access token claims', () => {
  it('service principals carry appid, azp, groups and the lifetime', () => {
    const ci = findPrincipal(seed, 'ci');
    const c = accessTokenClaims(ci, { ...ctx, clientId: ci.clientId! });
    expect(c).toMatchObject({
      aud: ctx.audience,
      iss: ctx.issuer,
      tid: seed.tenantId,
      oid: ci.objectId,
      sub: ci.objectId,
      appid: ci.clientId,
      azp: ci.clientId,
      idtyp: 'app',
      ver: '2.0',
      iat: ctx.nowSeconds,
      nbf: ctx.nowSeconds,
      exp: ctx.nowSeconds + 3600,
      groups: ci.groups,
    });
    expect(c.upn).toBeUndefined();
    expect(c.uti).toMatch(/^[A-Za-z0-9_-]{22}$/);
  });

  it('users carry upn, preferred_username and name, not appid', () => {
    const user = findPrincipal(seed, 'developer');
    const c = accessTokenClaims(user, ctx);
    expect(c).toMatchObject({ upn: user.upn, preferred_username: user.upn, name: 'developer', idtyp: 'user', oid: user.objectId });
    expect(c.appid).toBeUndefined();
  });

  it(`more than ${GROUP_CLAIM_LIMIT} groups yield an overage claim instead of groups`, () => {
    const overage = findPrincipal(seed, 'overage');
    expect(overage.groups!.length).toBeGreaterThan(GROUP_CLAIM_LIMIT);
    const c = accessTokenClaims(overage, ctx);
    expect(c.groups).toBeUndefined();
    expect(c._claim_names).toEqual({ groups: 'src1' });
    expect(c._claim_sources?.src1.endpoint).toContain(overage.objectId);
  });

  it('exactly the limit still lists the groups', () => {
    const p = { ...findPrincipal(seed, 'overage') };
    p.groups = p.groups!.slice(0, GROUP_CLAIM_LIMIT);
    const c = accessTokenClaims(p, ctx);
    expect(c.groups).toHaveLength(GROUP_CLAIM_LIMIT);
    expect(c._claim_names).toBeUndefined();
  });

  it('a principal without groups has no group claims', () => {
    const c = accessTokenClaims(findPrincipal(seed, 'noaccess'), ctx);
    expect(c.groups).toBeUndefined();
    expect(c._claim_names).toBeUndefined();
  });
});

describe('ID token and client_info', () => {
  it('the ID token is for the client and names the user', () => {
    const user = findPrincipal(seed, 'developer');
    const c = idTokenClaims(user, { issuer: ctx.issuer, tenantId: ctx.tenantId, clientId: 'cli', nowSeconds: 10, lifetimeSeconds: 60 });
    expect(c).toMatchObject({ aud: 'cli', oid: user.objectId, preferred_username: user.upn, tid: seed.tenantId, exp: 70 });
  });

  it('client_info is base64url JSON of uid and utid', () => {
    const user = findPrincipal(seed, 'developer');
    expect(JSON.parse(Buffer.from(clientInfo(user, 'tid-1'), 'base64url').toString())).toEqual({ uid: user.objectId, utid: 'tid-1' });
  });
});
