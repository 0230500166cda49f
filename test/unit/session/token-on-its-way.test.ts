import { describe, expect, it } from 'vitest';
import type { AccessToken, GetTokenOptions } from '@azure/identity';
import { withTokenOnItsWay } from '../../../src/session/sign-in.js';

const token = (t: string): AccessToken => ({ token: t, expiresOnTimestamp: Date.now() + 3600_000 });

function counting() {
  const asked: { scopes: string | string[]; options?: GetTokenOptions }[] = [];
  return {
    asked,
    getToken: (scopes: string | string[], options?: GetTokenOptions) => {
      asked.push({ scopes, ...(options ? { options } : {}) });
      return Promise.resolve(token(`fresh-${asked.length}`));
    },
  };
}

describe('withTokenOnItsWay', () => {
  it('hands the request already on its way to the first caller for its scope, then asks the credential', async () => {
    const inner = counting();
    const cred = withTokenOnItsWay(inner, 'arm/.default', Promise.resolve(token('early')));
    expect((await cred.getToken(['arm/.default']))?.token).toBe('early');
    expect(inner.asked).toEqual([]);
    expect((await cred.getToken('arm/.default'))?.token).toBe('fresh-1');
  });

  it('other scopes and claims challenges go to the credential, leaving the early token for its caller', async () => {
    const inner = counting();
    const cred = withTokenOnItsWay(inner, 'arm/.default', Promise.resolve(token('early')));
    expect((await cred.getToken('cluster/.default'))?.token).toBe('fresh-1');
    expect((await cred.getToken('arm/.default', { claims: '{"access_token":{}}' }))?.token).toBe('fresh-2');
    expect((await cred.getToken('arm/.default'))?.token).toBe('early');
  });

  it("the early request's failure is its first caller's", async () => {
    const inner = counting();
    const refused = Promise.reject(new Error('AADSTS7000215'));
    const cred = withTokenOnItsWay(inner, 'arm/.default', refused);
    await expect(cred.getToken('arm/.default')).rejects.toThrow('AADSTS7000215');
    expect((await cred.getToken('arm/.default'))?.token).toBe('fresh-1');
  });
});
