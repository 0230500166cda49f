import { describe, expect, it } from 'vitest';
import { element, namedBits, oid, time, unsignedInteger } from '../../../src/pki/der.js';

const hex = (b: Buffer) => b.toString('hex');

describe('DER encodings', () => {
  it('object identifiers, including arcs above 127', () => {
    expect(hex(oid('1.2.840.10045.4.3.2'))).toBe('06082a8648ce3d040302');
    expect(hex(oid('2.5.29.17'))).toBe('0603551d11');
  });

  it('lengths in short form below 128 and long form above', () => {
    expect(hex(element(0x04, Buffer.alloc(127))).slice(0, 4)).toBe('047f');
    expect(hex(element(0x04, Buffer.alloc(128))).slice(0, 6)).toBe('048180');
    expect(hex(element(0x04, Buffer.alloc(300))).slice(0, 8)).toBe('0482012c');
  });

  it('integers in their minimal form, positive', () => {
    expect(hex(unsignedInteger(Buffer.from([0, 0, 5])))).toBe('020105');
    expect(hex(unsignedInteger(Buffer.from([0x80])))).toBe('02020080');
    expect(hex(unsignedInteger(Buffer.from([0])))).toBe('020100');
  });

  it('named bits drop trailing zero bits and count them as unused', () => {
    expect(hex(namedBits([5, 6]))).toBe('03020106'); // keyCertSign, cRLSign
    expect(hex(namedBits([0, 2]))).toBe('030205a0'); // digitalSignature, keyEncipherment
    expect(hex(namedBits([8]))).toBe('0303070080');
  });

  it('UTCTime through 2049, GeneralizedTime from 2050', () => {
    expect(time(new Date('2049-12-31T23:59:59.500Z')).toString('latin1').slice(2)).toBe('491231235959Z');
    expect(time(new Date('2050-01-01T00:00:00Z')).toString('latin1').slice(2)).toBe('20500101000000Z');
    expect(time(new Date('2050-01-01T00:00:00Z'))[0]).toBe(0x18);
  });
});
