/**
 * SPDY/3 header blocks: the name/value encoding and its per-direction zlib stream.
 *
 * Outgoing blocks are written as stored (uncompressed) deflate blocks inside one zlib stream, each
 * followed by the sync-flush marker. That is what zlib itself emits for incompressible input, any
 * inflater reads it (Go's and node's included), and it keeps encoding synchronous, so a SYN_REPLY can never be overtaken by the DATA frames queued after it.
 * Incoming blocks are inflated with node:zlib and the SPDY/3 dictionary; results come back in
 * the order the blocks arrived.
 */
import { constants, createInflate, type Inflate } from 'node:zlib';
import { SPDY3_DICTIONARY } from './dictionary.js';
import { SpdyProtocolError } from './frames.js';

/** Lower-case names; several values of one name are joined with NUL, as SPDY does. */
export type SpdyHeaders = Record<string, string>;

export function encodeHeaderBlock(headers: SpdyHeaders): Buffer {
  const parts: Buffer[] = [];
  const entries = Object.entries(headers);
  const count = Buffer.alloc(4);
  count.writeUInt32BE(entries.length);
  parts.push(count);
  for (const [name, value] of entries) {
    for (const s of [name.toLowerCase(), value]) {
      const bytes = Buffer.from(s, 'utf8');
      const len = Buffer.alloc(4);
      len.writeUInt32BE(bytes.length);
      parts.push(len, bytes);
    }
  }
  return Buffer.concat(parts);
}

/** Parses one block from the front of buf; undefined when buf does not hold a whole block yet. */
export function decodeHeaderBlock(buf: Buffer): { headers: SpdyHeaders; used: number } | undefined {
  if (buf.length < 4) return undefined;
  const count = buf.readUInt32BE(0);
  let off = 4;
  const headers: SpdyHeaders = {};
  for (let i = 0; i < count; i++) {
    const strings: string[] = [];
    for (let j = 0; j < 2; j++) {
      if (buf.length < off + 4) return undefined;
      const len = buf.readUInt32BE(off);
      off += 4;
      if (buf.length < off + len) return undefined;
      strings.push(buf.toString('utf8', off, off + len));
      off += len;
    }
    const [name, value] = strings as [string, string];
    headers[name.toLowerCase()] = name.toLowerCase() in headers ? `${headers[name.toLowerCase()]}\0${value}` : value;
  }
  return { headers, used: off };
}

const ZLIB_HEADER = Buffer.from([0x78, 0x01]);
const STORED_MAX = 0xffff;
const SYNC_MARKER = Buffer.from([0x00, 0x00, 0x00, 0xff, 0xff]);

/** The sending side's zlib stream. */
export class HeaderCompressor {
  #started = false;

  compress(headers: SpdyHeaders): Buffer {
    const raw = encodeHeaderBlock(headers);
    const parts: Buffer[] = [];
    if (!this.#started) {
      parts.push(ZLIB_HEADER);
      this.#started = true;
    }
    let off = 0;
    do {
      const piece = raw.subarray(off, off + STORED_MAX);
      const head = Buffer.alloc(5);
      head.writeUInt8(0x00, 0); // BFINAL=0, BTYPE=00 (stored): the stream stays open
      head.writeUInt16LE(piece.length, 1);
      head.writeUInt16LE(~piece.length & 0xffff, 3);
      parts.push(head, piece);
      off += piece.length;
    } while (off < raw.length);
    // The sync-flush marker (an empty stored block), as Z_SYNC_FLUSH ends every block. Go's
    // inflater only hands out a stored block's bytes when the next block starts: without the
    // marker it reads past the frame, fails, and every later header block on the session fails.
    parts.push(SYNC_MARKER);
    return Buffer.concat(parts);
  }
}

/** The receiving side's zlib stream; decompress() resolves in call order. */
export class HeaderDecompressor {
  readonly #inflate: Inflate;
  #pending: { resolve: (h: SpdyHeaders) => void; reject: (e: Error) => void }[] = [];
  #out: Buffer = Buffer.alloc(0);
  #failed: Error | undefined;

  constructor() {
    this.#inflate = createInflate({ dictionary: SPDY3_DICTIONARY });
    this.#inflate.on('data', (chunk: Buffer) => {
      this.#out = this.#out.length === 0 ? chunk : Buffer.concat([this.#out, chunk]);
      this.#drainBlocks();
    });
    this.#inflate.on('error', (err) => this.#fail(new SpdyProtocolError(`header decompression failed: ${err.message}`)));
  }

  decompress(block: Buffer): Promise<SpdyHeaders> {
    if (this.#failed) return Promise.reject(this.#failed);
    const p = new Promise<SpdyHeaders>((resolve, reject) => this.#pending.push({ resolve, reject }));
    this.#inflate.write(block);
    this.#inflate.flush(constants.Z_SYNC_FLUSH);
    return p;
  }

  close(): void {
    this.#fail(new SpdyProtocolError('session closed'));
    this.#inflate.destroy();
  }

  #drainBlocks(): void {
    while (this.#pending.length > 0) {
      const parsed = decodeHeaderBlock(this.#out);
      if (!parsed) return;
      this.#out = this.#out.subarray(parsed.used);
      this.#pending.shift()!.resolve(parsed.headers);
    }
    if (this.#out.length > 0) this.#fail(new SpdyProtocolError('header block longer than its frame'));
  }

  #fail(err: Error): void {
    if (this.#failed) return;
    this.#failed = err;
    for (const p of this.#pending.splice(0)) p.reject(err);
  }
}
