import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createSas, hasValidSignature, parseSas, redactSas, resourceCovers, secondsLeft } from '../../../src/relay/sas.js';

const uri = 'http://azgnrelay-eastus-l1.servicebus.windows.net/microsoft.kubernetes/connectedclusters/abc/123';

describe('SAS tokens', () => {
  it('signs HMAC-SHA256 over the encoded resource URI, a newline and the expiry, keyed by the UTF-8 key', () => {
    const token = createSas({ resourceUri: uri, keyName: 'sender20211026', key: 'k3y+/=', expiry: 1700000000 });
    const encoded = encodeURIComponent(uri);
    const expected = createHmac('sha256', Buffer.from('k3y+/=', 'utf8')).update(`${encoded}\n1700000000`).digest('base64');
    expect(token).toBe(`SharedAccessSignature sr=${encoded}&sig=${encodeURIComponent(expected)}&se=1700000000&skn=sender20211026`);
  });

  it('parses what it creates and verifies the signature; a tampered one fails', () => {
    const token = createSas({ resourceUri: uri, keyName: 'sender', key: 'secret', expiry: 2000000000 });
    const parsed = parseSas(token)!;
    expect(parsed.resource).toBe(uri);
    expect(parsed.keyName).toBe('sender');
    expect(parsed.expiry).toBe(2000000000);
    expect(hasValidSignature(parsed, 'secret')).toBe(true);
    expect(hasValidSignature(parsed, 'other')).toBe(false);
    const tampered = parseSas(token.replace(/se=\d+/, 'se=2000000001'))!;
    expect(hasValidSignature(tampered, 'secret')).toBe(false);
  });

  it('rejects malformed tokens', () => {
    expect(parseSas('Bearer abc')).toBeUndefined();
    expect(parseSas('SharedAccessSignature sr=x&sig=y')).toBeUndefined();
    expect(parseSas('SharedAccessSignature sr=x&sig=y&se=soon&skn=k')).toBeUndefined();
  });

  it('covers resources under the token URI only', () => {
    expect(resourceCovers(uri, uri)).toBe(true);
    expect(resourceCovers(uri + '/', uri)).toBe(true);
    expect(resourceCovers('http://azgnrelay-eastus-l1.servicebus.windows.net/', uri)).toBe(true);
    expect(resourceCovers(uri, uri.replace('/123', '/124'))).toBe(false);
    expect(resourceCovers(uri, uri + '4')).toBe(false);
  });

  it('counts seconds left and redacts signatures', () => {
    const token = createSas({ resourceUri: uri, keyName: 'k', key: 'secret', expiry: 1000 });
    expect(secondsLeft(parseSas(token)!, 990_000)).toBe(10);
    const redacted = redactSas(`failed with ${token}`);
    expect(redacted).toContain('sig=REDACTED');
    expect(redacted).not.toContain(parseSas(token)!.signature);
  });
});
