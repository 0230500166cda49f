/** The HTTP/1.1 response parser: framing, strictness, reuse, and bytes split at every point. */
import { describe, expect, it } from 'vitest';
import { MAX_HEAD_BYTES, ResponseParseError, ResponseParser, type ResponseHead } from '../../../src/proxy/http1-response.js';

interface Outcome {
  heads: ResponseHead[];
  body: string;
  ended: boolean;
  /** Events in order: 'head', 'body', 'end' (consecutive body pieces merged). */
  order: string[];
  done: boolean;
  reusable: boolean;
  upgraded: boolean;
  error?: string;
}

/** Feeds `chunks` to a parser; `eof` then ends the stream (finish()). */
function run(method: string, chunks: Buffer[], eof = false): Outcome {
  const out: Outcome = { heads: [], body: '', ended: false, order: [], done: false, reusable: false, upgraded: false };
  const pieces: Buffer[] = [];
  const note = (e: string): void => {
    if (e !== 'body' || out.order[out.order.length - 1] !== 'body') out.order.push(e);
  };
  const parser = new ResponseParser(method, {
    onHead: (h) => {
      out.heads.push(h);
      note('head');
    },
    onBody: (b) => {
      expect(b.length).toBeGreaterThan(0);
      pieces.push(Buffer.from(b));
      note('body');
    },
    onEnd: () => {
      expect(out.ended).toBe(false);
      out.ended = true;
      note('end');
    },
  });
  try {
    for (const c of chunks) parser.execute(c);
    if (eof) parser.finish();
  } catch (err) {
    expect(err).toBeInstanceOf(ResponseParseError);
    out.error = (err as Error).message;
  }
  out.body = Buffer.concat(pieces).toString('latin1');
  out.done = parser.done;
  out.reusable = parser.reusable;
  out.upgraded = parser.upgraded;
  return out;
}

const bytes = (s: string): Buffer => Buffer.from(s, 'latin1');

/** Every way to cut `input` in two, and byte by byte. */
function splits(input: Buffer): Buffer[][] {
  const ways: Buffer[][] = [];
  for (let i = 1; i < input.length; i++) ways.push([input.subarray(0, i), input.subarray(i)]);
  ways.push(Array.from(input, (_, i) => input.subarray(i, i + 1)));
  return ways;
}

interface Good {
  name: string;
  method?: string;
  input: string;
  /** End the stream after the bytes. */
  eof?: boolean;
  status: number;
  reason?: string;
  headers?: string[];
  body: string;
  ended: boolean;
  reusable: boolean;
  upgraded?: boolean;
}

const GOOD: Good[] = [
  {
    name: 'Content-Length body',
    input: 'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 5\r\n\r\nhello',
    status: 200,
    reason: 'OK',
    headers: ['Content-Type', 'application/json', 'Content-Length', '5'],
    body: 'hello',
    ended: true,
    reusable: true,
  },
  {
    name: 'chunked body with extensions and trailers (dropped)',
    input:
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;name=value\r\nhello\r\n6 ; x="y z"\r\n world\r\nb\r\n 0123456789\r\n0;last\r\nX-Trailer: t\r\nX-Other: u\r\n\r\n',
    status: 200,
    headers: ['Transfer-Encoding', 'chunked'],
    body: 'hello world 0123456789',
    ended: true,
    reusable: true,
  },
  {
    name: 'chunked body, upper-case hex and leading zeros',
    input: 'HTTP/1.1 200 OK\r\ntransfer-encoding: Chunked\r\n\r\n0000B\r\nhello world\r\n0\r\n\r\n',
    status: 200,
    body: 'hello world',
    ended: true,
    reusable: true,
  },
  {
    name: 'close-delimited body (ends with the stream)',
    input: 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nline 1\nline 2\n',
    eof: true,
    status: 200,
    body: 'line 1\nline 2\n',
    ended: true,
    reusable: false,
  },
  {
    name: 'close-delimited body before the stream ends',
    input: 'HTTP/1.1 200 OK\r\n\r\npartial',
    status: 200,
    body: 'partial',
    ended: false,
    reusable: false,
  },
  {
    name: 'HEAD: no body whatever Content-Length says',
    method: 'HEAD',
    input: 'HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n',
    status: 200,
    headers: ['Content-Length', '1234'],
    body: '',
    ended: true,
    reusable: true,
  },
  {
    name: 'HEAD: no body whatever Transfer-Encoding says',
    method: 'HEAD',
    input: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n',
    status: 200,
    body: '',
    ended: true,
    reusable: true,
  },
  { name: '204: no body', input: 'HTTP/1.1 204 No Content\r\nAudit-Id: a\r\n\r\n', status: 204, reason: 'No Content', body: '', ended: true, reusable: true },
  {
    name: '304: no body even with Content-Length',
    input: 'HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n',
    status: 304,
    body: '',
    ended: true,
    reusable: true,
  },
  { name: 'Content-Length: 0', input: 'HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n', status: 201, body: '', ended: true, reusable: true },
  {
    name: 'interim 100 and 103 responses are skipped',
    input: 'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok',
    status: 200,
    headers: ['Content-Length', '2'],
    body: 'ok',
    ended: true,
    reusable: true,
  },
  {
    name: '101 is final and nothing after it is parsed',
    input: 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n\x81\x05hello',
    status: 101,
    body: '',
    ended: true,
    reusable: false,
    upgraded: true,
  },
  { name: 'HTTP/1.0 is not reused', input: 'HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok', status: 200, body: 'ok', ended: true, reusable: false },
  {
    name: 'Connection: close is not reused',
    input: 'HTTP/1.1 200 OK\r\nConnection: keep-alive, Close\r\nContent-Length: 2\r\n\r\nok',
    status: 200,
    body: 'ok',
    ended: true,
    reusable: false,
  },
  {
    name: 'Transfer-Encoding wins over Content-Length, which is removed; not reused',
    input: 'HTTP/1.1 200 OK\r\nContent-Length: 100\r\nX-A: 1\r\nTransfer-Encoding: chunked\r\ncontent-length: 100\r\n\r\n2\r\nok\r\n0\r\n\r\n',
    status: 200,
    headers: ['X-A', '1', 'Transfer-Encoding', 'chunked'],
    body: 'ok',
    ended: true,
    reusable: false,
  },
  {
    name: 'repeated equal Content-Length values, as fields and as a list',
    input: 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2, 2\r\n\r\nok',
    status: 200,
    headers: ['Content-Length', '2', 'Content-Length', '2, 2'],
    body: 'ok',
    ended: true,
    reusable: true,
  },
  {
    name: 'header spelling, repeats and order are kept; OWS trimmed; obs-text kept',
    input:
      'HTTP/1.1 200 OK\r\nwArNiNg: 299 - "a"\r\nSet-Cookie: a=1\r\nSet-Cookie:b=2\r\nX-Pad: \t spaced  value \t\r\nX-Latin: caf\xe9\xa0\r\nX-Empty:\r\nContent-Length: 0\r\n\r\n',
    status: 200,
    headers: [
      'wArNiNg',
      '299 - "a"',
      'Set-Cookie',
      'a=1',
      'Set-Cookie',
      'b=2',
      'X-Pad',
      'spaced  value',
      'X-Latin',
      'caf\xe9\xa0',
      'X-Empty',
      '',
      'Content-Length',
      '0',
    ],
    body: '',
    ended: true,
    reusable: true,
  },
  {
    name: 'status line without a reason phrase',
    input: 'HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n',
    status: 200,
    reason: '',
    body: '',
    ended: true,
    reusable: true,
  },
  { name: 'empty reason phrase', input: 'HTTP/1.1 404 \r\nContent-Length: 0\r\n\r\n', status: 404, reason: '', body: '', ended: true, reusable: true },
  {
    name: 'reason phrase with spaces and obs-text',
    input: "HTTP/1.1 418 I'm a  teapot \xe9\r\nContent-Length: 0\r\n\r\n",
    status: 418,
    reason: "I'm a  teapot \xe9",
    body: '',
    ended: true,
    reusable: true,
  },
  {
    name: 'bytes after the end: not reused',
    input: 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\n',
    status: 200,
    body: 'ok',
    ended: true,
    reusable: false,
  },
  {
    name: 'a body of binary bytes, CR and LF included',
    input: 'HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\n\r\n\x00\xff\n\r',
    status: 200,
    body: '\r\n\x00\xff\n\r',
    ended: true,
    reusable: true,
  },
  {
    name: 'chunk data holding CR LF',
    input: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n\r\n\r\n\r\n0\r\n\r\n',
    status: 200,
    body: '\r\n\r\n',
    ended: true,
    reusable: true,
  },
];

describe('ResponseParser: well-formed responses', () => {
  it.each(GOOD)('$name', (c) => {
    const input = bytes(c.input);
    const whole = run(c.method ?? 'GET', [input], c.eof);
    expect(whole.error).toBeUndefined();
    expect(whole.heads).toHaveLength(1);
    const head = whole.heads[0]!;
    expect(head.statusCode).toBe(c.status);
    if (c.reason !== undefined) expect(head.statusMessage).toBe(c.reason);
    if (c.headers !== undefined) expect(head.rawHeaders).toEqual(c.headers);
    expect(whole.body).toBe(c.body);
    expect(whole.ended).toBe(c.ended);
    expect(whole.done).toBe(c.ended);
    expect(whole.reusable).toBe(c.reusable);
    expect(whole.upgraded).toBe(c.upgraded ?? false);
    expect(whole.order).toEqual(['head', ...(c.body === '' ? [] : ['body']), ...(c.ended ? ['end'] : [])]);

    // The same outcome however the bytes are split, inside CR LF and chunk-size lines included.
    for (const chunks of splits(input)) {
      const split = run(c.method ?? 'GET', chunks, c.eof);
      expect(split).toEqual(whole);
    }
  });
});

describe('ResponseParser: framing decisions', () => {
  it('reports the end of a close-delimited body only when the stream ends', () => {
    const events: string[] = [];
    const parser = new ResponseParser('GET', { onHead: () => events.push('head'), onBody: (b) => events.push(b.toString()), onEnd: () => events.push('end') });
    parser.execute(bytes('HTTP/1.1 200 OK\r\n\r\nabc'));
    expect(events).toEqual(['head', 'abc']);
    expect(parser.done).toBe(false);
    expect(parser.finish()).toBe(true);
    expect(events).toEqual(['head', 'abc', 'end']);
    expect(parser.reusable).toBe(false);
  });

  it.each([
    ['before any byte', ''],
    ['inside the head', 'HTTP/1.1 200 OK\r\nContent-Le'],
    ['inside a Content-Length body', 'HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc'],
    ['inside a chunk', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab'],
    ['before the last chunk', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n'],
    ['inside the trailers', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX: y\r\n'],
  ])('a stream that ends %s leaves the response incomplete', (_where, input) => {
    let ended = false;
    const parser = new ResponseParser('GET', { onHead: () => undefined, onBody: () => undefined, onEnd: () => (ended = true) });
    if (input !== '') parser.execute(bytes(input));
    expect(parser.finish()).toBe(false);
    expect(ended).toBe(false);
    expect(parser.done).toBe(false);
    expect(parser.reusable).toBe(false);
  });

  it('hands out body bytes as views of the received chunks, not copies', () => {
    const views: Buffer[] = [];
    const input = bytes('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n');
    new ResponseParser('GET', { onHead: () => undefined, onBody: (b) => views.push(b), onEnd: () => undefined }).execute(input);
    const clInput = bytes('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nworld');
    new ResponseParser('GET', { onHead: () => undefined, onBody: (b) => views.push(b), onEnd: () => undefined }).execute(clInput);
    const bodyOnly = bytes('0123456789');
    const p = new ResponseParser('GET', { onHead: () => undefined, onBody: (b) => views.push(b), onEnd: () => undefined });
    p.execute(bytes('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n'));
    p.execute(bodyOnly);
    expect(views.map((v) => v.toString())).toEqual(['hello', 'world', '0123456789']);
    expect(views[0]!.buffer).toBe(input.buffer);
    expect(views[1]!.buffer).toBe(clInput.buffer);
    // A chunk that is all body is handed on as it is.
    expect(views[2]).toBe(bodyOnly);
  });

  it('stop() ends all reporting, even in the middle of a chunk', () => {
    const events: string[] = [];
    const parser = new ResponseParser('GET', {
      onHead: () => {
        events.push('head');
        parser.stop();
      },
      onBody: () => events.push('body'),
      onEnd: () => events.push('end'),
    });
    parser.execute(bytes('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'));
    parser.execute(bytes('more'));
    expect(events).toEqual(['head']);
  });

  it('reads the next response on a reused stream with a new parser, bytes split across both', () => {
    const first = run('GET', [bytes('HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\none')]);
    const second = run('GET', [bytes('HTTP/1.1 200 OK\r\nTrans'), bytes('fer-Encoding: chunked\r\n\r\n3\r\ntwo\r\n0\r\n\r\n')]);
    expect([first.body, second.body, first.reusable, second.reusable]).toEqual(['one', 'two', true, true]);
  });
});

interface Bad {
  name: string;
  input: string;
  /** What the message says. */
  error: RegExp;
}

const BAD: Bad[] = [
  { name: 'HTTP/2 status line', input: 'HTTP/2 200 OK\r\n\r\n', error: /status line/ },
  { name: 'two-digit status', input: 'HTTP/1.1 20 OK\r\n\r\n', error: /status line/ },
  { name: 'status 099', input: 'HTTP/1.1 099 X\r\n\r\n', error: /status line/ },
  { name: 'no space after the status code', input: 'HTTP/1.1 200OK\r\n\r\n', error: /status line/ },
  { name: 'lower-case protocol name', input: 'http/1.1 200 OK\r\n\r\n', error: /status line/ },
  { name: 'leading empty line', input: '\r\nHTTP/1.1 200 OK\r\n\r\n', error: /status line/ },
  { name: 'control character in the reason', input: 'HTTP/1.1 200 O\x01K\r\n\r\n', error: /reason/ },
  { name: 'obs-fold', input: 'HTTP/1.1 200 OK\r\nX-A: a\r\n  continued\r\nContent-Length: 0\r\n\r\n', error: /obs-fold/ },
  { name: 'whitespace before the first header', input: 'HTTP/1.1 200 OK\r\n X-A: a\r\n\r\n', error: /obs-fold/ },
  { name: 'whitespace before the colon', input: 'HTTP/1.1 200 OK\r\nContent-Length : 0\r\n\r\n', error: /header name/ },
  { name: 'a header line without a colon', input: 'HTTP/1.1 200 OK\r\nnonsense\r\n\r\n', error: /colon/ },
  { name: 'an empty header name', input: 'HTTP/1.1 200 OK\r\n: v\r\n\r\n', error: /colon/ },
  { name: 'a control character in a value', input: 'HTTP/1.1 200 OK\r\nX-A: a\x00b\r\n\r\n', error: /control character in header X-A/ },
  { name: 'DEL in a value', input: 'HTTP/1.1 200 OK\r\nX-A: a\x7fb\r\n\r\n', error: /control character/ },
  { name: 'bare LF ending the status line', input: 'HTTP/1.1 200 OK\nContent-Length: 0\n\n', error: /bare LF/ },
  { name: 'bare LF ending a header', input: 'HTTP/1.1 200 OK\r\nContent-Length: 0\n\r\n', error: /bare LF/ },
  { name: 'bare LF ending the head', input: 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\n', error: /bare LF/ },
  { name: 'bare CR inside a header', input: 'HTTP/1.1 200 OK\r\nX-A: a\rb\r\n\r\n', error: /bare CR/ },
  { name: 'bare CR ending lines', input: 'HTTP/1.1 200 OK\rContent-Length: 0\r\r', error: /bare CR/ },
  { name: 'non-numeric Content-Length', input: 'HTTP/1.1 200 OK\r\nContent-Length: abc\r\n\r\n', error: /Content-Length/ },
  { name: 'signed Content-Length', input: 'HTTP/1.1 200 OK\r\nContent-Length: +5\r\n\r\nhello', error: /Content-Length/ },
  { name: 'negative Content-Length', input: 'HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n', error: /Content-Length/ },
  { name: 'hex Content-Length', input: 'HTTP/1.1 200 OK\r\nContent-Length: 0x10\r\n\r\n', error: /Content-Length/ },
  { name: 'empty Content-Length', input: 'HTTP/1.1 200 OK\r\nContent-Length:\r\n\r\n', error: /Content-Length/ },
  { name: 'Content-Length with an empty list element', input: 'HTTP/1.1 200 OK\r\nContent-Length: 5,\r\n\r\nhello', error: /Content-Length/ },
  { name: 'Content-Length too large', input: 'HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999\r\n\r\n', error: /Content-Length/ },
  { name: 'conflicting Content-Length fields', input: 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!', error: /conflicting/ },
  { name: 'conflicting Content-Length list', input: 'HTTP/1.1 200 OK\r\nContent-Length: 5, 6\r\n\r\nhello!', error: /conflicting/ },
  { name: 'Transfer-Encoding gzip', input: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n', error: /Transfer-Encoding/ },
  { name: 'Transfer-Encoding gzip, chunked', input: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n', error: /Transfer-Encoding/ },
  { name: 'chunked twice', input: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n', error: /Transfer-Encoding/ },
  { name: 'empty Transfer-Encoding', input: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: \r\n\r\n', error: /Transfer-Encoding/ },
  { name: 'chunk size that is not hex', input: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n', error: /chunk-size/ },
  { name: 'empty chunk-size line', input: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\r\n', error: /chunk-size/ },
  { name: 'negative chunk size', input: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n-1\r\n', error: /chunk-size/ },
  { name: 'chunk size with leading space', input: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n 5\r\nhello\r\n', error: /chunk-size/ },
  { name: 'chunk size too large', input: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffff\r\n', error: /too large/ },
  {
    name: 'chunk data longer than its size',
    input: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nhello\r\n0\r\n\r\n',
    error: /longer than its chunk size/,
  },
  { name: 'bare LF after chunk data', input: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\n0\r\n\r\n', error: /chunk size|bare LF/ },
  { name: 'bare LF ending a chunk-size line', input: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\nhello\r\n', error: /bare LF/ },
  { name: 'control character in a chunk extension', input: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;a=\x01\r\nhello\r\n', error: /chunk-size/ },
  { name: 'obs-fold in the trailers', input: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX: a\r\n b\r\n\r\n', error: /obs-fold/ },
];

describe('ResponseParser: malformed responses', () => {
  it.each(BAD)('refuses $name', (c) => {
    const input = bytes(c.input);
    const whole = run('GET', [input]);
    expect(whole.error).toMatch(c.error);
    expect(whole.ended).toBe(false);
    expect(whole.reusable).toBe(false);
    for (const chunks of splits(input)) {
      const split = run('GET', chunks);
      expect(split.error).toMatch(c.error);
      expect(split.ended).toBe(false);
    }
  });

  it('refuses a bare LF as soon as it arrives, without waiting for the rest', () => {
    const parser = new ResponseParser('GET', { onHead: () => undefined, onBody: () => undefined, onEnd: () => undefined });
    expect(() => parser.execute(bytes('HTTP/1.1 200 OK\n'))).toThrow(/bare LF/);
  });

  it('refuses a bare CR as soon as a byte other than LF follows it, across chunks too', () => {
    const parser = new ResponseParser('GET', { onHead: () => undefined, onBody: () => undefined, onEnd: () => undefined });
    parser.execute(bytes('HTTP/1.1 200 OK\r'));
    expect(() => parser.execute(bytes('X'))).toThrow(/bare CR/);
  });

  it('refuses a head longer than MAX_HEAD_BYTES, and takes nothing after an error', () => {
    const events: string[] = [];
    const parser = new ResponseParser('GET', { onHead: () => events.push('head'), onBody: () => events.push('body'), onEnd: () => events.push('end') });
    parser.execute(bytes('HTTP/1.1 200 OK\r\n'));
    const header = bytes(`X-Big: ${'a'.repeat(1000)}\r\n`);
    expect(() => {
      for (let i = 0; i <= MAX_HEAD_BYTES / header.length; i++) parser.execute(header);
    }).toThrow(/longer than/);
    parser.execute(bytes('\r\n'));
    expect(events).toEqual([]);
    expect(parser.done).toBe(false);
  });

  it('refuses a chunk-size line that never ends', () => {
    const parser = new ResponseParser('GET', { onHead: () => undefined, onBody: () => undefined, onEnd: () => undefined });
    parser.execute(bytes('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;'));
    expect(() => parser.execute(bytes('x'.repeat(5000)))).toThrow(/chunk-size line/);
  });

  it('gives no body or end after a malformed chunk, only what came before', () => {
    const r = run('GET', [bytes('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\nxyz\r\n')]);
    expect(r.order).toEqual(['head', 'body']);
    expect(r.body).toBe('ok');
    expect(r.error).toMatch(/chunk-size/);
  });
});
