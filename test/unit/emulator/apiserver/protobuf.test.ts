import { describe, expect, it } from 'vitest';
import { decodeAccessReviewSpec, unwrapEnvelope } from '../../../../src/emulator/apiserver/protobuf.js';

// Minimal protobuf writer for the test: length-delimited fields only.
function field(n: number, value: Buffer | string): Buffer {
  const v = typeof value === 'string' ? Buffer.from(value) : value;
  return Buffer.concat([Buffer.from([(n << 3) | 2, v.length]), v]);
}

describe('Kubernetes protobuf envelope', () => {
  it('decodes a SelfSubjectAccessReview as kubectl sends it', () => {
    const ra = Buffer.concat([field(1, 'default'), field(2, 'list'), field(3, ''), field(5, 'pods')]);
    const review = Buffer.concat([field(1, Buffer.alloc(0)), field(2, field(1, ra))]);
    const unknown = Buffer.concat([field(1, Buffer.concat([field(1, 'authorization.k8s.io/v1'), field(2, 'SelfSubjectAccessReview')])), field(2, review)]);
    const body = Buffer.concat([Buffer.from('k8s\0', 'binary'), unknown]);
    const raw = unwrapEnvelope(body)!;
    expect(decodeAccessReviewSpec(raw).resourceAttributes).toMatchObject({ namespace: 'default', verb: 'list', resource: 'pods' });
  });

  it('is not fooled by JSON', () => {
    expect(unwrapEnvelope(Buffer.from('{"spec":{}}'))).toBeUndefined();
  });
});
