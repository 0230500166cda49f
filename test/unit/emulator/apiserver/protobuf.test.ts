import { describe, expect, it } from 'vitest';
import { decodeAccessReviewSpec, decodeProtobufObject, unwrapEnvelope } from '../../../../src/emulator/apiserver/protobuf.js';

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

describe('Secrets and ConfigMaps as protobuf (helm release storage)', () => {
  const entry = (k: string, v: string | Buffer) => Buffer.concat([field(1, k), field(2, v)]);
  const envelope = (kind: string, raw: Buffer) =>
    Buffer.concat([Buffer.from([0x6b, 0x38, 0x73, 0x00]), field(1, Buffer.concat([field(1, 'v1'), field(2, kind)])), field(2, raw)]);

  it('decodes metadata, labels, binary data and type of a Secret', () => {
    const meta = Buffer.concat([
      field(1, 'sh.helm.release.v1.rel.v1'),
      field(3, 'default'),
      field(11, entry('owner', 'helm')),
      field(11, entry('name', 'rel')),
    ]);
    const secret = Buffer.concat([field(1, meta), field(2, entry('release', Buffer.from([0, 1, 2]))), field(3, 'helm.sh/release.v1')]);
    expect(decodeProtobufObject(envelope('Secret', secret))).toEqual({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'sh.helm.release.v1.rel.v1', namespace: 'default', labels: { owner: 'helm', name: 'rel' } },
      data: { release: 'AAEC' },
      type: 'helm.sh/release.v1',
    });
  });

  it('decodes a ConfigMap and leaves other kinds and JSON alone', () => {
    const cm = Buffer.concat([field(1, field(1, 'c')), field(2, entry('k', 'v'))]);
    expect(decodeProtobufObject(envelope('ConfigMap', cm))).toEqual({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { k: 'v' } });
    expect(decodeProtobufObject(envelope('Namespace', field(1, field(1, 'team'))))).toEqual({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: 'team' },
    });
    expect(decodeProtobufObject(envelope('Pod', cm))).toBeUndefined();
    expect(decodeProtobufObject(Buffer.from('{"kind":"Secret"}'))).toBeUndefined();
  });
});
