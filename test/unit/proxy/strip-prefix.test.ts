import { describe, expect, it } from 'vitest';
import { stripPrefix } from '../../../src/proxy/server.js';

describe('stripPrefix', () => {
  const p = '/proxies/abc';
  it('strips the prefix and keeps the query for the upstream, and for the log with secret-looking values redacted', () => {
    expect(stripPrefix('/proxies/abc/api/v1/pods?watch=true&token=s', p)).toEqual({
      path: '/api/v1/pods?watch=true&token=s',
      logPath: '/api/v1/pods?watch=true&token=[redacted]',
    });
  });
  it('redacts credentials by name, JWTs by shape, and exec commands; keeps the rest as sent', () => {
    const { logPath } = stripPrefix(
      '/proxies/abc/api/v1/namespaces/default/pods/p/exec?command=sh&command=-c&command=echo%20pw&stdout=true&x=eyJhbGciOi.eyJzdWIi.sig&sig=abc&labelSelector=app%3Dweb',
      p,
    )!;
    expect(logPath).toBe(
      '/api/v1/namespaces/default/pods/p/exec?command=[redacted]&command=[redacted]&command=[redacted]&stdout=true&x=[redacted]&sig=[redacted]&labelSelector=app%3Dweb',
    );
    expect(stripPrefix('/proxies/abc/api/v1/pods/p/log?follow=true&tailLines=10', p)!.logPath).toBe('/api/v1/pods/p/log?follow=true&tailLines=10');
  });
  it('turns an empty remainder into /', () => {
    expect(stripPrefix('/proxies/abc', p)).toEqual({ path: '/', logPath: '/' });
    expect(stripPrefix('/proxies/abc?x=1', p)).toEqual({ path: '/?x=1', logPath: '/?x=1' });
  });
  it('refuses other paths, including longer hashes', () => {
    expect(stripPrefix('/api/v1/pods', p)).toBeUndefined();
    expect(stripPrefix('/proxies/abcdef/api', p)).toBeUndefined();
    expect(stripPrefix('/proxies/ab', p)).toBeUndefined();
  });
});
