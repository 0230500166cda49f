/**
 * The few ASN.1 DER encodings an X.509 certificate needs (ITU-T X.690), for certs.ts. Each
 * function returns one complete element (tag, length, contents). Minimal by design: no decoding,
 * and only the types certificates use.
 */

function length(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

/** An element with `tag` (one byte) and the given contents. */
export function element(tag: number, ...contents: Buffer[]): Buffer {
  const body = Buffer.concat(contents);
  return Buffer.concat([Buffer.from([tag]), length(body.length), body]);
}

export const sequence = (...items: Buffer[]): Buffer => element(0x30, ...items);
export const set = (...items: Buffer[]): Buffer => element(0x31, ...items);
export const octetString = (bytes: Buffer): Buffer => element(0x04, bytes);
export const utf8String = (s: string): Buffer => element(0x0c, Buffer.from(s, 'utf8'));
export const boolean = (v: boolean): Buffer => element(0x01, Buffer.from([v ? 0xff : 0x00]));
/** [n] EXPLICIT: a constructed context-specific element around `inner`. */
export const explicit = (n: number, inner: Buffer): Buffer => element(0xa0 | n, inner);
/** [n] IMPLICIT of a primitive type: its contents under a context-specific tag. */
export const implicit = (n: number, contents: Buffer): Buffer => element(0x80 | n, contents);

/** A non-negative INTEGER from big-endian bytes, in its minimal form (a leading 0 only to keep it positive). */
export function unsignedInteger(bytes: Buffer): Buffer {
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0) start++;
  const trimmed = bytes.subarray(start);
  return element(0x02, trimmed[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), trimmed]) : trimmed);
}

export const smallInteger = (n: number): Buffer => unsignedInteger(Buffer.from([n]));

/** An OBJECT IDENTIFIER from its dotted form. */
export function oid(dotted: string): Buffer {
  const arcs = dotted.split('.').map(Number);
  const out: number[] = [arcs[0]! * 40 + arcs[1]!];
  for (const arc of arcs.slice(2)) {
    const base128: number[] = [arc & 0x7f];
    for (let v = Math.floor(arc / 128); v > 0; v = Math.floor(v / 128)) base128.unshift((v & 0x7f) | 0x80);
    out.push(...base128);
  }
  return element(0x06, Buffer.from(out));
}

/** A BIT STRING holding whole bytes (keys, signatures). */
export const bitString = (bytes: Buffer): Buffer => element(0x03, Buffer.from([0]), bytes);

/**
 * A BIT STRING of named bits (key usage): bit 0 is the first byte's most significant bit; DER
 * drops trailing zero bits and counts them as unused.
 */
export function namedBits(bits: number[]): Buffer {
  const highest = Math.max(...bits);
  const bytes = Buffer.alloc(Math.floor(highest / 8) + 1);
  for (const b of bits) bytes[b >> 3]! |= 0x80 >> (b & 7);
  return element(0x03, Buffer.from([7 - (highest & 7)]), bytes);
}

/** UTCTime through 2049, GeneralizedTime from 2050 on (RFC 5280 §4.1.2.5), to the second, in UTC. */
export function time(date: Date): Buffer {
  const iso = date.toISOString(); // YYYY-MM-DDTHH:MM:SS.sssZ
  const digits = iso.slice(0, 19).replace(/[-T:]/g, '');
  return date.getUTCFullYear() < 2050 ? element(0x17, Buffer.from(`${digits.slice(2)}Z`, 'ascii')) : element(0x18, Buffer.from(`${digits}Z`, 'ascii'));
}
