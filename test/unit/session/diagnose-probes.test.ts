/** What diagnose reads from tokens (claims, never who or the token) and from one answer through a stream. */
import { Duplex, PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { accessTokenClaims, BODY_PREVIEW_BYTES, exchangeOnStream, headerLines, shrClaims } from '../../../src/session/diagnose-probes.js';

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
const jws = (header: unknown, payload: unknown) => `${b64(header)}.${b64(payload)}.c2ln`;

const POP_AT = jws(
  { alg: 'RS256', typ: 'JWT' },
  {
    aud: 'arc',
    tid: 't',
    appid: 'a',
    exp: 1_800_000_000,
    oid: 'object-id-of-someone',
    upn: 'someone@example.com',
    name: 'Some One',
    cnf: { kid: 'K1', xms_ksl: 'sw' },
  },
);

describe('token claims', () => {
  it('names audience, tenant, client, expiry and the key binding, never who signed in', () => {
    const claims = accessTokenClaims(POP_AT);
    expect(claims).toEqual({
      aud: 'arc',
      tid: 't',
      appid: 'a',
      expiresOn: new Date(1_800_000_000_000).toISOString(),
      popBound: true,
      cnf: { kid: 'K1', xms_ksl: 'sw' },
    });
    expect(JSON.stringify(claims)).not.toMatch(/someone|Some One|object-id/);
  });

  it('says a token without cnf is not PoP-bound, and what is not a JWT', () => {
    expect(accessTokenClaims(jws({ alg: 'RS256' }, { aud: 'arc' }))).toEqual({ aud: 'arc', popBound: false });
    expect(accessTokenClaims('opaque')).toEqual({ format: 'not a JWT' });
  });

  it("reads an SHR's header, u, ts and key id, and the access token inside it", () => {
    const shr = jws(
      { typ: 'pop', alg: 'RS256', kid: 'K1' },
      { at: POP_AT, ts: 1_800_000_000, u: '/subscriptions/s/x', nonce: 'n', cnf: { jwk: { kty: 'RSA', n: 'nnn', e: 'AQAB', kid: 'K1' } } },
    );
    expect(shrClaims(shr)).toMatchObject({
      header: { typ: 'pop', alg: 'RS256', kid: 'K1' },
      u: '/subscriptions/s/x',
      jwk: { kty: 'RSA', kid: 'K1' },
      nonce: true,
      accessToken: { popBound: true },
    });
    expect(JSON.stringify(shrClaims(shr))).not.toContain(POP_AT);
  });

  it('redacts credential headers by name', () => {
    expect(headerLines(['Authorization', 'anything', 'Content-Type', 'application/json', 'set-cookie', 'a=b'])).toEqual([
      'Authorization: [redacted]',
      'Content-Type: application/json',
      'set-cookie: [redacted]',
    ]);
  });
});

/** A stream whose writes are recorded and whose reads are what the test pushes. */
function agentStream(): { stream: Duplex; written: () => string; answer: (text: string | Buffer) => void; end: () => void } {
  const inbound = new PassThrough();
  let written = '';
  const stream = new Duplex({
    read() {},
    write(chunk: Buffer, _enc, cb) {
      written += chunk.toString('latin1');
      cb();
    },
  });
  inbound.on('data', (c: Buffer) => stream.push(c));
  return { stream, written: () => written, answer: (t) => inbound.write(t), end: () => stream.push(null) };
}

describe('one request through a stream', () => {
  it('writes the head and keeps the status line, headers and the first bytes of the body', async () => {
    const s = agentStream();
    const body = `{"gitVersion":"v1.31.4","pad":"${'x'.repeat(2000)}"}`;
    const answer = exchangeOnStream(s.stream, 'GET /version HTTP/1.1\r\nHost: h\r\n\r\n', 5_000);
    s.answer(`HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nSet-Cookie: s=1\r\n\r\n${body}`);
    const a = await answer;
    expect(s.written()).toBe('GET /version HTTP/1.1\r\nHost: h\r\n\r\n');
    expect(a).toMatchObject({ statusCode: 200, statusLine: 'HTTP/1.1 200 OK', bodyBytes: body.length });
    expect(a.headers).toEqual(['Content-Type: application/json', `Content-Length: ${body.length}`, 'Set-Cookie: [redacted]']);
    expect(a.bodyPreview).toBe(body.slice(0, BODY_PREVIEW_BYTES));
  });

  it("keeps a refusal's Status message, with any token in it redacted", async () => {
    const s = agentStream();
    const body = JSON.stringify({ kind: 'Status', code: 401, message: `refused Bearer ${POP_AT}` });
    const answer = exchangeOnStream(s.stream, 'GET / HTTP/1.1\r\n\r\n', 5_000);
    s.answer(`HTTP/1.1 401 Unauthorized\r\nTransfer-Encoding: chunked\r\n\r\n${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`);
    const a = await answer;
    expect(a.statusCode).toBe(401);
    expect(a.message).toBe('refused Bearer [redacted]');
    expect(a.bodyPreview).not.toContain(POP_AT.split('.')[1]);
  });

  it('fails with ARCPROXY_CLUSTER_REQUEST_FAILED when the stream ends before an answer, or the answer is not HTTP', async () => {
    const ended = agentStream();
    const first = exchangeOnStream(ended.stream, 'GET / HTTP/1.1\r\n\r\n', 5_000);
    ended.end();
    await expect(first).rejects.toMatchObject({ code: 'ARCPROXY_CLUSTER_REQUEST_FAILED', message: expect.stringMatching(/ended before an answer/) });

    const garbage = agentStream();
    const second = exchangeOnStream(garbage.stream, 'GET / HTTP/1.1\r\n\r\n', 5_000);
    garbage.answer('SSH-2.0-OpenSSH\r\n\r\n');
    await expect(second).rejects.toMatchObject({ code: 'ARCPROXY_CLUSTER_REQUEST_FAILED', message: expect.stringMatching(/not HTTP/) });
  });
});
