/** Redaction of the secret shapes a diagnose report may meet. */
import { describe, expect, it } from 'vitest';
import { redactHeaders, redactSecrets } from '../../../src/errors/index.js';

describe('redactSecrets', () => {
  it('redacts JWTs anywhere, OAuth form fields and JSON token fields', () => {
    expect(redactSecrets('at=eyJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJ4In0.c2ln done')).toBe('at=[redacted JWT] done');
    expect(redactSecrets('grant_type=refresh_token&refresh_token=0.AXk-abc&client_secret=s3cret&scope=x')).toBe(
      'grant_type=refresh_token&refresh_token=[redacted]&client_secret=[redacted]&scope=x',
    );
    expect(redactSecrets('{"refresh_token": "0.AXk", "expires_in":3600, "secret":"k"}')).toBe(
      '{"refresh_token": "[redacted]", "expires_in":3600, "secret":"[redacted]"}',
    );
  });

  it('leaves the words "bearer token" in prose alone, but not a token after Bearer', () => {
    expect(redactSecrets('the request carried a plain Bearer token.')).toBe('the request carried a plain Bearer token.');
    expect(redactSecrets('Authorization: Bearer tokenvalue123')).toBe('Authorization: Bearer [redacted]');
  });
});

describe('redactHeaders', () => {
  it('replaces credential headers whatever their value, and redacts token shapes in the others', () => {
    expect(redactHeaders(['ServiceBusAuthorization', 'x', 'Cookie', 'c=1', 'Location', 'https://h/?sig=abc&se=1', 'Accept', '*/*'])).toEqual([
      'ServiceBusAuthorization',
      '[redacted]',
      'Cookie',
      '[redacted]',
      'Location',
      'https://h/?sig=[redacted]&se=1',
      'Accept',
      '*/*',
    ]);
  });
});
