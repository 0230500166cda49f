import { describe, expect, it } from 'vitest';
import { headerValue, http1RequestHeaders, requestHead, rewriteRequestHeaders, rewriteResponseHeaders, unsendableHead } from '../../../src/proxy/headers.js';

function pairs(flat: readonly string[]): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 0; i < flat.length; i += 2) out.push([flat[i]!, flat[i + 1]!]);
  return out;
}
const names = (flat: readonly string[]) => pairs(flat).map(([n]) => n.toLowerCase());

const kubectlHeaders = [
  'Host',
  '127.0.0.1:47011',
  'User-Agent',
  'kubectl/v1.33.1',
  'Accept',
  'application/vnd.kubernetes.protobuf,application/json',
  'Authorization',
  'Bearer client-own-token',
  'Impersonate-User',
  'someone',
  'Impersonate-Group',
  'g1',
  'Impersonate-Group',
  'g2',
  'impersonate-extra-scopes',
  'x',
  'Connection',
  'keep-alive, X-Hop',
  'Keep-Alive',
  'timeout=5',
  'X-Hop',
  'drop me',
  'Proxy-Authorization',
  'Basic abc',
  'TE',
  'trailers',
  'Warning',
  'a',
  'Warning',
  'b',
];

describe('rewriteRequestHeaders', () => {
  it('Entra mode replaces the client identity with the bearer token and keeps other end-to-end headers', () => {
    const { headers, hasBody } = rewriteRequestHeaders(kubectlHeaders, { bearerToken: 'entra-token', upgrade: false });
    expect(pairs(headers)).toEqual([
      ['Host', '127.0.0.1:47011'],
      ['User-Agent', 'kubectl/v1.33.1'],
      ['Accept', 'application/vnd.kubernetes.protobuf,application/json'],
      ['Warning', 'a'],
      ['Warning', 'b'],
      ['Authorization', 'Bearer entra-token'],
    ]);
    expect(hasBody).toBe(false);
  });

  it('passthrough keeps the client Authorization and impersonation headers, still drops hop-by-hop', () => {
    const { headers } = rewriteRequestHeaders(kubectlHeaders, { upgrade: false });
    expect(pairs(headers).filter(([n]) => n === 'Authorization')).toEqual([['Authorization', 'Bearer client-own-token']]);
    expect(names(headers)).toContain('impersonate-user');
    expect(
      pairs(headers)
        .filter(([n]) => n === 'Impersonate-Group')
        .map(([, v]) => v),
    ).toEqual(['g1', 'g2']);
    for (const hop of ['connection', 'keep-alive', 'x-hop', 'proxy-authorization', 'te', 'upgrade']) expect(names(headers)).not.toContain(hop);
  });

  it('keeps Upgrade and sends Connection: Upgrade on upgrade requests', () => {
    const raw = [
      'Host',
      'h',
      'Connection',
      'Upgrade',
      'Upgrade',
      'SPDY/3.1',
      'X-Stream-Protocol-Version',
      'v4.channel.k8s.io',
      'X-Stream-Protocol-Version',
      'v3.channel.k8s.io',
      'Sec-WebSocket-Protocol',
      'v5.channel.k8s.io',
    ];
    const { headers } = rewriteRequestHeaders(raw, { bearerToken: 't', upgrade: true });
    expect(pairs(headers)).toEqual([
      ['Host', 'h'],
      ['X-Stream-Protocol-Version', 'v4.channel.k8s.io'],
      ['X-Stream-Protocol-Version', 'v3.channel.k8s.io'],
      ['Sec-WebSocket-Protocol', 'v5.channel.k8s.io'],
      ['Connection', 'Upgrade'],
      ['Upgrade', 'SPDY/3.1'],
      ['Authorization', 'Bearer t'],
    ]);
  });

  it('drops Upgrade on a request that is not forwarded as an upgrade', () => {
    const { headers } = rewriteRequestHeaders(['Host', 'h', 'Connection', 'Upgrade', 'Upgrade', 'h2c'], { upgrade: false });
    expect(pairs(headers)).toEqual([['Host', 'h']]);
  });

  it('reports a body and keeps its framing', () => {
    expect(rewriteRequestHeaders(['Content-Length', '12'], { upgrade: false })).toEqual({
      headers: ['Content-Length', '12'],
      hasBody: true,
      framing: { kind: 'length', contentLength: 12 },
    });
    expect(rewriteRequestHeaders(['Content-Length', '0'], { upgrade: false })).toMatchObject({ hasBody: false, framing: { kind: 'length', contentLength: 0 } });
    expect(rewriteRequestHeaders(['Accept', '*/*'], { upgrade: false })).toMatchObject({ hasBody: false, framing: { kind: 'none' } });
    const chunked = rewriteRequestHeaders(['Transfer-Encoding', 'chunked', 'Content-Type', 'application/json'], { upgrade: false });
    expect(chunked).toEqual({ headers: ['Content-Type', 'application/json', 'Transfer-Encoding', 'chunked'], hasBody: true, framing: { kind: 'chunked' } });
  });

  it('drops Expect, which the local server has already answered', () => {
    expect(rewriteRequestHeaders(['Expect', '100-continue', 'Content-Length', '3'], { upgrade: false }).headers).toEqual(['Content-Length', '3']);
  });
});

describe('http1RequestHeaders (an HTTP/2 request as HTTP/1.1)', () => {
  // As Node's http2 server lists them: pseudo-headers first, names lower-cased.
  const h2Get = [
    ':method',
    'GET',
    ':path',
    '/proxies/x/api/v1/pods?watch=1',
    ':scheme',
    'https',
    ':authority',
    '127.0.0.1:47011',
    'accept',
    'application/json',
    'authorization',
    'Bearer sa',
    'user-agent',
    'kubectl/v1.35.0',
  ];

  it('drops pseudo-headers and sends :authority as Host, first', () => {
    expect(pairs(http1RequestHeaders(h2Get, { body: false }))).toEqual([
      ['host', '127.0.0.1:47011'],
      ['accept', 'application/json'],
      ['authorization', 'Bearer sa'],
      ['user-agent', 'kubectl/v1.35.0'],
    ]);
  });

  it('prefers :authority to a host header, and keeps a host header when there is no :authority', () => {
    expect(http1RequestHeaders([':authority', 'a:1', 'host', 'b:2'], { body: false })).toEqual(['host', 'a:1']);
    expect(http1RequestHeaders([':method', 'GET', 'host', 'b:2'], { body: false })).toEqual(['host', 'b:2']);
  });

  it('frames a body without Content-Length as chunked; never invents one', () => {
    const post = [':method', 'POST', ':authority', 'h', 'content-type', 'application/json'];
    expect(http1RequestHeaders(post, { body: true })).toEqual(['host', 'h', 'content-type', 'application/json', 'transfer-encoding', 'chunked']);
    expect(http1RequestHeaders(post, { body: false })).toEqual(['host', 'h', 'content-type', 'application/json']);
    expect(http1RequestHeaders([...post, 'content-length', '12'], { body: true })).toEqual([
      'host',
      'h',
      'content-type',
      'application/json',
      'content-length',
      '12',
    ]);
  });

  it('joins cookie fields HTTP/2 split (RFC 9113 §8.2.3) where the first one was', () => {
    expect(http1RequestHeaders([':authority', 'h', 'cookie', 'a=1', 'accept', '*/*', 'cookie', 'b=2'], { body: false })).toEqual([
      'host',
      'h',
      'cookie',
      'a=1; b=2',
      'accept',
      '*/*',
    ]);
  });

  it('then rewriteRequestHeaders treats it like any HTTP/1.1 request: hop-by-hop dropped, body reported', () => {
    const h1 = http1RequestHeaders([':method', 'PATCH', ':authority', 'h', 'te', 'trailers', 'content-type', 'application/merge-patch+json'], { body: true });
    expect(rewriteRequestHeaders(h1, { bearerToken: 't', upgrade: false })).toEqual({
      headers: ['host', 'h', 'content-type', 'application/merge-patch+json', 'Transfer-Encoding', 'chunked', 'Authorization', 'Bearer t'],
      hasBody: true,
      framing: { kind: 'chunked' },
    });
  });

  it('rewriteRequestHeaders never forwards a pseudo-header, whoever calls it', () => {
    expect(rewriteRequestHeaders(h2Get, { upgrade: false }).headers.filter((_, i) => i % 2 === 0)).toEqual(['accept', 'authorization', 'user-agent']);
  });
});

describe('rewriteResponseHeaders', () => {
  it('keeps end-to-end headers (repeated ones too) and drops hop-by-hop ones', () => {
    const raw = [
      'Content-Type',
      'application/json',
      'Transfer-Encoding',
      'chunked',
      'Connection',
      'keep-alive',
      'Keep-Alive',
      'timeout=5',
      'Set-Cookie',
      'a=1',
      'Set-Cookie',
      'b=2',
      'Audit-Id',
      'x',
    ];
    expect(rewriteResponseHeaders(raw)).toEqual(['Content-Type', 'application/json', 'Set-Cookie', 'a=1', 'Set-Cookie', 'b=2', 'Audit-Id', 'x']);
  });
});

describe('requestHead', () => {
  it('writes an HTTP/1.1 request head', () => {
    expect(requestHead('POST', '/api/v1/x?y=1', ['Host', 'h', 'Upgrade', 'SPDY/3.1'])).toBe(
      'POST /api/v1/x?y=1 HTTP/1.1\r\nHost: h\r\nUpgrade: SPDY/3.1\r\n\r\n',
    );
  });
});

describe('unsendableHead', () => {
  it('passes an ordinary head', () => {
    expect(
      unsendableHead('GET', '/api/v1/pods?labelSelector=app%3Dx&watch=1', [
        'Accept',
        'application/json;as=Table;v=v1;g=meta.k8s.io',
        'User-Agent',
        'kubectl/v1.31 (linux/amd64)\tx',
      ]),
    ).toBeUndefined();
  });

  it.each([
    ['a space in the path', 'GET', '/a b', [], /path/],
    ['a line break in the path', 'GET', '/a\r\nX: y', [], /path/],
    ['a character beyond latin1 in the path', 'GET', '/\u0100', [], /path/],
    ['a method that is not a token', 'G T', '/', [], /method/],
    ['a header name with a space', 'GET', '/', ['Bad Name', 'v'], /Bad Name/],
    ['a CR LF in a header value', 'GET', '/', ['Authorization', 'Bearer x\r\nImpersonate-User: admin'], /Authorization/],
    ['a NUL in a header value', 'GET', '/', ['X', 'a\u0000b'], /header X/],
  ])('refuses %s', (_what, method, path, headers, message) => {
    expect(unsendableHead(method, path, headers)).toMatch(message);
  });
});

describe('headerValue', () => {
  it('finds the first value whatever the spelling', () => {
    expect(headerValue(['Content-Type', 'application/json', 'content-type', 'text/plain'], 'content-type')).toBe('application/json');
    expect(headerValue(['X-Content-Type', 'a'], 'content-type')).toBeUndefined();
  });
});
