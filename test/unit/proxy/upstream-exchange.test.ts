/** One request/response exchange on a stream: what is written, what is read, and when the stream is reusable. */
import { describe, expect, it } from 'vitest';
import type { IncomingMessage } from 'node:http';
import { Duplex, PassThrough } from 'node:stream';
import { ResponseParseError } from '../../../src/proxy/http1-response.js';
import { UpstreamExchange, type ExchangeEvents, type ExchangeRequest } from '../../../src/proxy/upstream-exchange.js';
import type { UpstreamResponse } from '../../../src/proxy/upstream-response.js';
import { once } from './helpers.js';

/** A stream standing in for a relay stream: records each write batch, reads what the test pushes. */
class FakeStream extends Duplex {
  readonly batches: string[] = [];
  constructor() {
    super({ allowHalfOpen: false });
    this.on('error', () => undefined);
  }
  override _read(): void {}
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    this.batches.push(chunk.toString('latin1'));
    cb();
  }
  override _writev(chunks: { chunk: Buffer }[], cb: () => void): void {
    this.batches.push(chunks.map((c) => c.chunk.toString('latin1')).join(''));
    cb();
  }
  get written(): string {
    return this.batches.join('');
  }
}

/** kubectl's request body as Node's server hands it over (decoded). */
class FakeRequest extends PassThrough {
  complete = false;
  finishBody(last?: string): void {
    this.complete = true;
    this.end(last);
  }
}

interface Recorded {
  responses: UpstreamResponse[];
  failures: { err: Error; sawResponseByte: boolean }[];
  released: Duplex[];
  events: ExchangeEvents;
}

function recorder(onResponse?: (r: UpstreamResponse) => void): Recorded {
  const rec: Recorded = {
    responses: [],
    failures: [],
    released: [],
    events: {
      onResponse: (r) => {
        rec.responses.push(r);
        onResponse?.(r);
      },
      onFailure: (err, sawResponseByte) => rec.failures.push({ err, sawResponseByte }),
      release: (s) => rec.released.push(s),
    },
  };
  return rec;
}

/** Reads a response to its end (or cut), recording events. */
function read(res: UpstreamResponse): { events: string[]; body: () => string } {
  const events: string[] = [];
  const parts: Buffer[] = [];
  res.on('data', (c) => {
    parts.push(c);
    if (events[events.length - 1] !== 'data') events.push('data');
  });
  res.on('end', () => events.push('end'));
  res.on('close', () => events.push('close'));
  res.resume();
  return { events, body: () => Buffer.concat(parts).toString() };
}

const HEAD = 'GET /api HTTP/1.1\r\nConnection: keep-alive\r\n\r\n';
const get = (): ExchangeRequest => ({ method: 'GET', head: HEAD });
const withBody = (req: FakeRequest, framing: { chunked: true } | { chunked: false; contentLength: number }): ExchangeRequest => ({
  method: 'POST',
  head: 'POST /x HTTP/1.1\r\n\r\n',
  body: { req: req as unknown as IncomingMessage, framing },
});
const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('UpstreamExchange', () => {
  it('writes the head, relays the response, and releases a reusable stream', async () => {
    const stream = new FakeStream();
    let reading!: ReturnType<typeof read>;
    const rec = recorder((r) => (reading = read(r)));
    new UpstreamExchange(stream, get(), rec.events);
    expect(stream.written).toBe(HEAD);
    stream.push('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhel');
    stream.push('lo');
    await tick();
    expect(reading.events).toEqual(['data', 'end', 'close']);
    expect(reading.body()).toBe('hello');
    expect(rec.responses[0]!.complete).toBe(true);
    expect(rec.released).toEqual([stream]);
    expect(stream.destroyed).toBe(false);
    expect(stream.listenerCount('data')).toBe(0);
  });

  it('destroys a stream that cannot be reused (Connection: close) instead of releasing it', async () => {
    const stream = new FakeStream();
    const rec = recorder((r) => read(r));
    new UpstreamExchange(stream, get(), rec.events);
    stream.push('HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok');
    await once(stream, 'close');
    expect(rec.released).toEqual([]);
  });

  it('ends a close-delimited body with the stream, which is then not reused', async () => {
    const stream = new FakeStream();
    let reading!: ReturnType<typeof read>;
    const rec = recorder((r) => (reading = read(r)));
    new UpstreamExchange(stream, get(), rec.events);
    stream.push('HTTP/1.1 200 OK\r\n\r\nuntil ');
    stream.push('the end');
    stream.push(null);
    await once(stream, 'close');
    expect(reading.events).toEqual(['data', 'end', 'close']);
    expect(reading.body()).toBe('until the end');
    expect(rec.released).toEqual([]);
  });

  it('cuts the response (close without end, complete false) when the stream dies mid-body', async () => {
    const stream = new FakeStream();
    let reading!: ReturnType<typeof read>;
    const rec = recorder((r) => (reading = read(r)));
    new UpstreamExchange(stream, get(), rec.events);
    stream.push('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n');
    await tick();
    stream.destroy(new Error('relay closed 1006'));
    await once(stream, 'close');
    expect(reading.events).toEqual(['data', 'close']);
    expect(rec.responses[0]!.complete).toBe(false);
    expect(rec.failures).toEqual([]);
  });

  it('a clean end mid-body is a cut too, never a complete response', async () => {
    const stream = new FakeStream();
    let reading!: ReturnType<typeof read>;
    const rec = recorder((r) => (reading = read(r)));
    new UpstreamExchange(stream, get(), rec.events);
    stream.push('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc');
    stream.push(null);
    await once(stream, 'close');
    expect(reading.events).toEqual(['data', 'close']);
  });

  it('reports a failure before any response byte, and says when some had come', async () => {
    const silent = new FakeStream();
    const a = recorder();
    new UpstreamExchange(silent, get(), a.events);
    silent.destroy(Object.assign(new Error('cut'), { code: 'ARCPROXY_RELAY_CLOSED' }));
    await once(silent, 'close');
    expect(a.failures).toMatchObject([{ err: { code: 'ARCPROXY_RELAY_CLOSED' }, sawResponseByte: false }]);

    const partial = new FakeStream();
    const b = recorder();
    new UpstreamExchange(partial, get(), b.events);
    partial.push('HTTP/1.1 200 O');
    partial.push(null);
    await once(partial, 'close');
    expect(b.failures).toMatchObject([{ err: { code: 'ARCPROXY_TUNNEL_CLOSED' }, sawResponseByte: true }]);
    expect(b.responses).toEqual([]);
  });

  it('reports a malformed answer as a ResponseParseError and destroys the stream', async () => {
    const stream = new FakeStream();
    const rec = recorder();
    new UpstreamExchange(stream, get(), rec.events);
    stream.push('SSH-2.0-OpenSSH\r\n');
    await once(stream, 'close');
    expect(rec.failures).toHaveLength(1);
    expect(rec.failures[0]!.err).toBeInstanceOf(ResponseParseError);
    expect(rec.failures[0]!.sawResponseByte).toBe(true);
  });

  it('fails at once on a stream that was already closed', async () => {
    const stream = new FakeStream();
    stream.destroy();
    await once(stream, 'close');
    const rec = recorder();
    new UpstreamExchange(stream, get(), rec.events);
    await tick();
    expect(rec.failures).toMatchObject([{ sawResponseByte: false }]);
  });

  it('pauses the stream while the reader is paused; queued bytes come out in order, then end', async () => {
    const stream = new FakeStream();
    const rec = recorder();
    new UpstreamExchange(stream, get(), rec.events);
    stream.push('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n1\r\nb\r\n1\r\nc\r\n0\r\n\r\n');
    await tick();
    const res = rec.responses[0]!;
    const seen: string[] = [];
    res.on('data', (c: Buffer) => {
      seen.push(c.toString());
      res.pause();
    });
    res.on('end', () => seen.push('end'));
    // Starts paused: nothing is lost before the reader is ready.
    expect(res.complete).toBe(true);
    res.resume();
    expect(seen).toEqual(['a']);
    res.resume();
    expect(seen).toEqual(['a', 'b']);
    res.resume();
    res.resume();
    expect(seen).toEqual(['a', 'b', 'c', 'end']);
  });

  it("passes the reader's pause on to the stream", async () => {
    const stream = new FakeStream();
    const rec = recorder();
    new UpstreamExchange(stream, get(), rec.events);
    stream.push('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n');
    await tick();
    const res = rec.responses[0]!;
    res.on('data', () => res.pause());
    res.resume();
    expect(stream.isPaused()).toBe(false);
    stream.push('1\r\na\r\n');
    await tick();
    expect(stream.isPaused()).toBe(true);
    res.resume();
    expect(stream.isPaused()).toBe(false);
  });

  it('sends a Content-Length body after the head, in the same write when it is already there', async () => {
    const stream = new FakeStream();
    const req = new FakeRequest();
    req.write('{"kind":');
    req.write('"Pod"}');
    const rec = recorder();
    new UpstreamExchange(stream, withBody(req, { chunked: false, contentLength: 14 }), rec.events);
    req.finishBody();
    await tick();
    expect(stream.batches[0]).toBe('POST /x HTTP/1.1\r\n\r\n{"kind":"Pod"}');
    expect(stream.written).toBe('POST /x HTTP/1.1\r\n\r\n{"kind":"Pod"}');
    stream.push('HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n');
    await tick();
    expect(rec.released).toEqual([stream]);
  });

  it('re-chunks a body that came chunked, ending with the last chunk', async () => {
    const stream = new FakeStream();
    const req = new FakeRequest();
    const rec = recorder();
    new UpstreamExchange(stream, withBody(req, { chunked: true }), rec.events);
    req.write('abc');
    await tick();
    req.write(Buffer.alloc(17, 'x'));
    await tick();
    req.finishBody();
    await tick();
    expect(stream.written).toBe(`POST /x HTTP/1.1\r\n\r\n3\r\nabc\r\n11\r\n${'x'.repeat(17)}\r\n0\r\n\r\n`);
  });

  it('does not reuse a stream whose response came before the whole request body was sent', async () => {
    const stream = new FakeStream();
    const req = new FakeRequest();
    const rec = recorder((r) => read(r));
    new UpstreamExchange(stream, withBody(req, { chunked: true }), rec.events);
    req.write('part');
    await tick();
    stream.push('HTTP/1.1 413 Payload Too Large\r\nContent-Length: 0\r\n\r\n');
    await once(stream, 'close');
    expect(rec.released).toEqual([]);
    expect(rec.responses[0]!.statusCode).toBe(413);
  });

  it('destroys the stream when kubectl goes away mid-body (half a request must not be reused)', async () => {
    const stream = new FakeStream();
    const req = new FakeRequest();
    const rec = recorder();
    new UpstreamExchange(stream, withBody(req, { chunked: false, contentLength: 100 }), rec.events);
    req.write('only part');
    await tick();
    req.destroy();
    await once(stream, 'close');
    expect(rec.failures).toHaveLength(1);
    expect(rec.released).toEqual([]);
  });

  it('abort() before the answer reports a failure once and destroys the stream; after release it leaves the stream alone', async () => {
    const stream = new FakeStream();
    const rec = recorder();
    const ex = new UpstreamExchange(stream, get(), rec.events);
    ex.abort();
    ex.abort();
    expect(stream.destroyed).toBe(true);
    expect(rec.failures).toHaveLength(1);

    const kept = new FakeStream();
    const rec2 = recorder((r) => read(r));
    const done = new UpstreamExchange(kept, get(), rec2.events);
    kept.push('HTTP/1.1 204 No Content\r\n\r\n');
    await tick();
    expect(rec2.released).toEqual([kept]);
    done.abort();
    expect(kept.destroyed).toBe(false);
  });

  it('drops the stream when the reader destroys an unfinished response', async () => {
    const stream = new FakeStream();
    let closed = 0;
    const rec = recorder((r) => {
      r.on('close', () => closed++);
      r.destroy();
    });
    new UpstreamExchange(stream, get(), rec.events);
    stream.push('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nabc');
    await once(stream, 'close');
    expect(closed).toBe(1);
    expect(rec.released).toEqual([]);
  });
});
