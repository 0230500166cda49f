import { describe, expect, it } from 'vitest';
import { stripPrefix } from '../../../src/proxy/server.js';

describe('stripPrefix', () => {
  const p = '/proxies/abc';
  it('strips the prefix and keeps the query for the upstream, not for the log', () => {
    expect(stripPrefix('/proxies/abc/api/v1/pods?watch=true&token=s', p)).toEqual({ path: '/api/v1/pods?watch=true&token=s', logPath: '/api/v1/pods' });
  });
  it('turns an empty remainder into /', () => {
    expect(stripPrefix('/proxies/abc', p)).toEqual({ path: '/', logPath: '/' });
    expect(stripPrefix('/proxies/abc?x=1', p)).toEqual({ path: '/?x=1', logPath: '/' });
  });
  it('refuses other paths, including longer hashes', () => {
    expect(stripPrefix('/api/v1/pods', p)).toBeUndefined();
    expect(stripPrefix('/proxies/abcdef/api', p)).toBeUndefined();
    expect(stripPrefix('/proxies/ab', p)).toBeUndefined();
  });
});
