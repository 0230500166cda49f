import { createRequire } from 'node:module';
import { constants, createDeflate, inflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { SPDY3_DICTIONARY } from '../../../../../src/emulator/apiserver/streaming/spdy/dictionary.js';
import { decodeFrame, encodeFrame, FrameParser, SpdyProtocolError, type SpdyFrame } from '../../../../../src/emulator/apiserver/streaming/spdy/frames.js';
import { decodeHeaderBlock, encodeHeaderBlock, HeaderCompressor, HeaderDecompressor } from '../../../../../src/emulator/apiserver/streaming/spdy/headers.js';

const SAMPLES: SpdyFrame[] = [
  { type: 'data', streamId: 5, fin: false, data: Buffer.from('hello') },
  { type: 'data', streamId: 0x7fffffff, fin: true, data: Buffer.alloc(0) },
  { type: 'syn_stream', streamId: 3, associatedId: 1, priority: 7, fin: true, unidirectional: true, headerBlock: Buffer.from([1, 2, 3]) },
  { type: 'syn_reply', streamId: 3, fin: false, headerBlock: Buffer.from([9]) },
  { type: 'headers', streamId: 7, fin: true, headerBlock: Buffer.alloc(0) },
  { type: 'rst_stream', streamId: 9, status: 5 },
  {
    type: 'settings',
    clear: true,
    entries: [
      { id: 7, value: 1 << 20, flags: 1 },
      { id: 4, value: 100, flags: 0 },
    ],
  },
  { type: 'ping', id: 0xfffffffe },
  { type: 'goaway', lastGoodStreamId: 11, status: 2 },
  { type: 'window_update', streamId: 0, delta: 0x7fffffff },
];

describe('SPDY/3.1 frames', () => {
  it.each(SAMPLES.map((f) => [f.type, f] as const))('round-trips %s', (_name, frame) => {
    const bytes = encodeFrame(frame);
    expect(bytes.readUInt32BE(4) & 0xffffff).toBe(bytes.length - 8);
    expect(decodeFrame(bytes)).toEqual(frame);
  });

  it('marks control frames with version 3 and data frames with the stream id', () => {
    const ping = encodeFrame({ type: 'ping', id: 1 });
    expect(ping.subarray(0, 4)).toEqual(Buffer.from([0x80, 0x03, 0x00, 0x06]));
    const data = encodeFrame({ type: 'data', streamId: 0x0102, fin: true, data: Buffer.from('x') });
    expect(data.subarray(0, 8)).toEqual(Buffer.from([0, 0, 1, 2, 1, 0, 0, 1]));
  });

  it('reassembles frames split at every byte boundary', () => {
    const all = Buffer.concat(SAMPLES.map(encodeFrame));
    const parser = new FrameParser();
    const out: SpdyFrame[] = [];
    for (let i = 0; i < all.length; i++) out.push(...parser.push(all.subarray(i, i + 1)));
    expect(out).toEqual(SAMPLES);
  });

  it('rejects other SPDY versions and truncated control frames', () => {
    const v2 = encodeFrame({ type: 'ping', id: 1 });
    v2.writeUInt16BE(0x8002, 0);
    expect(() => decodeFrame(v2)).toThrow(SpdyProtocolError);
    const short = Buffer.from([0x80, 0x03, 0x00, 0x03, 0x00, 0x00, 0x00, 0x02, 0, 0]);
    expect(() => decodeFrame(short)).toThrow(/RST_STREAM/);
  });
});

describe('SPDY/3 header blocks', () => {
  it('uses the spec dictionary (same bytes as spdy-transport ships)', () => {
    const require = createRequire(import.meta.url);
    const theirs = (require('spdy-transport/lib/spdy-transport/protocol/spdy/dictionary.js') as Record<number, Buffer>)[3]!;
    expect(SPDY3_DICTIONARY.equals(theirs)).toBe(true);
  });

  it('encodes and decodes name/value pairs, joining repeated names with NUL', () => {
    const block = encodeHeaderBlock({ streamtype: 'data', port: '8080', requestid: '0' });
    expect(decodeHeaderBlock(block)).toEqual({ headers: { streamtype: 'data', port: '8080', requestid: '0' }, used: block.length });
    expect(decodeHeaderBlock(block.subarray(0, block.length - 1))).toBeUndefined();
  });

  it('compresses into one zlib stream that a standard inflater reads block after block', () => {
    const c = new HeaderCompressor();
    const blocks = [c.compress({ streamtype: 'error' }), c.compress({}), c.compress({ streamtype: 'stdout', big: 'x'.repeat(70_000) })];
    // Every block ends with the sync-flush marker, as Go's inflater needs to release the bytes.
    for (const b of blocks) expect(b.subarray(-5)).toEqual(Buffer.from([0, 0, 0, 0xff, 0xff]));
    const plain = inflateSync(Buffer.concat(blocks), { dictionary: SPDY3_DICTIONARY, finishFlush: constants.Z_SYNC_FLUSH });
    const first = decodeHeaderBlock(plain)!;
    expect(first.headers).toEqual({ streamtype: 'error' });
    const second = decodeHeaderBlock(plain.subarray(first.used))!;
    expect(second.headers).toEqual({});
    const third = decodeHeaderBlock(plain.subarray(first.used + second.used))!;
    expect(third.headers.big).toHaveLength(70_000);
  });

  it('inflates dictionary-compressed blocks (as Go writes them) in order', async () => {
    const deflate = createDeflate({ dictionary: SPDY3_DICTIONARY });
    const chunks: Buffer[] = [];
    deflate.on('data', (c: Buffer) => chunks.push(c));
    const compress = (h: Record<string, string>) =>
      new Promise<Buffer>((resolve) => {
        chunks.length = 0;
        deflate.write(encodeHeaderBlock(h));
        deflate.flush(constants.Z_SYNC_FLUSH, () => resolve(Buffer.concat(chunks)));
      });
    const a = await compress({ streamtype: 'error', port: '8080', requestid: '0' });
    const b = await compress({ streamtype: 'data', port: '8080', requestid: '0' });
    expect(a.readUInt8(1) & 0x20).toBe(0x20); // FDICT: the peer must know the dictionary
    const d = new HeaderDecompressor();
    const [ha, hb] = await Promise.all([d.decompress(a), d.decompress(b)]);
    expect(ha).toEqual({ streamtype: 'error', port: '8080', requestid: '0' });
    expect(hb).toEqual({ streamtype: 'data', port: '8080', requestid: '0' });
    d.close();
    deflate.destroy();
  });

  it('rejects a header stream compressed with another dictionary', async () => {
    const deflate = createDeflate({ dictionary: Buffer.from('not the spdy dictionary') });
    const out: Buffer[] = [];
    deflate.on('data', (c: Buffer) => out.push(c));
    deflate.write(encodeHeaderBlock({ a: 'b' }));
    await new Promise<void>((r) => deflate.flush(constants.Z_SYNC_FLUSH, () => r()));
    const d = new HeaderDecompressor();
    await expect(d.decompress(Buffer.concat(out))).rejects.toThrow(/decompression/);
    d.close();
    deflate.destroy();
  });
});
