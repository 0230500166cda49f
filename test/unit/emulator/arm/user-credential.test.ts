import { describe, expect, it } from 'vitest';
import { dotNetUtc } from '../../../../src/emulator/arm/errors.js';
import { parseUserCredentialRequest, refreshMargin } from '../../../../src/emulator/arm/user-credential.js';

describe('parseUserCredentialRequest', () => {
  it('accepts both methods, case-insensitively, with clientProxy', () => {
    expect(parseUserCredentialRequest('{"authenticationMethod":"aad","clientProxy":true}')).toEqual({ authenticationMethod: 'AAD', clientProxy: true });
    expect(parseUserCredentialRequest('{"authenticationMethod":"Token","clientProxy":false}')).toEqual({ authenticationMethod: 'Token', clientProxy: false });
  });

  it.each(['', '[]', 'null', '{"clientProxy":true}', '{"authenticationMethod":"AAD"}', '{"authenticationMethod":1,"clientProxy":true}'])(
    'refuses %s with a message',
    (text) => {
      expect(typeof parseUserCredentialRequest(text)).toBe('string');
    },
  );
});

describe('refreshMargin', () => {
  it('is ten minutes for long lifetimes and half of short ones', () => {
    expect(refreshMargin(3 * 3600)).toBe(600);
    expect(refreshMargin(1200)).toBe(600);
    expect(refreshMargin(120)).toBe(60);
  });
});

describe('dotNetUtc', () => {
  it('formats like .NET invariant culture', () => {
    expect(dotNetUtc(new Date(Date.UTC(2024, 4, 1, 0, 5, 9)))).toBe('5/1/2024 12:05:09 AM');
    expect(dotNetUtc(new Date(Date.UTC(2024, 11, 31, 13, 0, 0)))).toBe('12/31/2024 1:00:00 PM');
  });
});
