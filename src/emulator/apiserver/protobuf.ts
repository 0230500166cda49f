/**
 * Just enough of Kubernetes' protobuf encoding to read the review requests kubectl sends as
 * `application/vnd.kubernetes.protobuf`: the `k8s\0` envelope (runtime.Unknown) and
 * length-delimited fields. Answers always go back as JSON, which kubectl accepts.
 */
const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]);

type Fields = Map<number, Buffer[]>;

function readVarint(buf: Buffer, pos: number): [number, number] {
  let result = 0;
  let shift = 0;
  for (;;) {
    if (pos >= buf.length) throw new Error('truncated varint');
    const b = buf[pos++]!;
    result += (b & 0x7f) * 2 ** shift;
    if ((b & 0x80) === 0) return [result, pos];
    shift += 7;
  }
}

/** Length-delimited fields by number; other wire types are skipped. */
function readFields(buf: Buffer): Fields {
  const fields: Fields = new Map();
  let pos = 0;
  while (pos < buf.length) {
    const [key, p1] = readVarint(buf, pos);
    pos = p1;
    const field = Math.floor(key / 8);
    const wire = key & 7;
    if (wire === 0) [, pos] = readVarint(buf, pos);
    else if (wire === 1) pos += 8;
    else if (wire === 5) pos += 4;
    else if (wire === 2) {
      const [len, p2] = readVarint(buf, pos);
      const value = buf.subarray(p2, p2 + len);
      pos = p2 + len;
      const list = fields.get(field) ?? [];
      list.push(value);
      fields.set(field, list);
    } else throw new Error(`unsupported wire type ${wire}`);
  }
  return fields;
}

const str = (f: Fields, n: number) => f.get(n)?.[0]?.toString('utf8');

/** The object inside a `k8s\0` envelope, or undefined when the body is not one. */
export function unwrapEnvelope(body: Buffer): Buffer | undefined {
  if (body.length < 4 || !body.subarray(0, 4).equals(MAGIC)) return undefined;
  return readFields(body.subarray(4)).get(2)?.[0];
}

export interface AccessReviewSpec {
  resourceAttributes?: { namespace?: string; verb?: string; group?: string; version?: string; resource?: string; subresource?: string; name?: string };
  nonResourceAttributes?: { path?: string; verb?: string };
}

/** Decodes a SelfSubjectAccessReview's spec from its protobuf form. */
export function decodeAccessReviewSpec(raw: Buffer): AccessReviewSpec {
  const review = readFields(raw);
  const spec = review.get(2)?.[0];
  if (!spec) return {};
  const s = readFields(spec);
  const out: AccessReviewSpec = {};
  const ra = s.get(1)?.[0];
  if (ra) {
    const f = readFields(ra);
    out.resourceAttributes = {
      namespace: str(f, 1),
      verb: str(f, 2),
      group: str(f, 3),
      version: str(f, 4),
      resource: str(f, 5),
      subresource: str(f, 6),
      name: str(f, 7),
    };
  }
  const nra = s.get(2)?.[0];
  if (nra) {
    const f = readFields(nra);
    out.nonResourceAttributes = { path: str(f, 1), verb: str(f, 2) };
  }
  return out;
}

/** The namespace in a SelfSubjectRulesReview's spec (protobuf form). */
export function decodeRulesReviewNamespace(raw: Buffer): string | undefined {
  const spec = readFields(raw).get(2)?.[0];
  return spec ? str(readFields(spec), 1) : undefined;
}

/** map<string, string|bytes> entries (key 1, value 2). */
function readMap(f: Fields, n: number, asBase64: boolean): Record<string, string> | undefined {
  const entries = f.get(n);
  if (!entries?.length) return undefined;
  const out: Record<string, string> = {};
  for (const e of entries) {
    const kv = readFields(e);
    const value = kv.get(2)?.[0] ?? Buffer.alloc(0);
    out[str(kv, 1) ?? ''] = asBase64 ? value.toString('base64') : value.toString('utf8');
  }
  return out;
}

/**
 * The ObjectMeta fields a client sets on create or update: name 1, generateName 2, namespace 3,
 * resourceVersion 6, labels 11, annotations 12, finalizers 14.
 */
function decodeObjectMeta(raw: Buffer | undefined): Record<string, unknown> {
  if (!raw) return {};
  const f = readFields(raw);
  const labels = readMap(f, 11, false);
  const annotations = readMap(f, 12, false);
  const finalizers = f.get(14)?.map((b) => b.toString('utf8'));
  return {
    ...(str(f, 1) ? { name: str(f, 1) } : {}),
    ...(str(f, 2) ? { generateName: str(f, 2) } : {}),
    ...(str(f, 3) ? { namespace: str(f, 3) } : {}),
    ...(str(f, 6) ? { resourceVersion: str(f, 6) } : {}),
    ...(labels ? { labels } : {}),
    ...(annotations ? { annotations } : {}),
    ...(finalizers?.length ? { finalizers } : {}),
  };
}

/** Kinds whose protobuf form is read: typed clients (helm's release storage, `kubectl create namespace`) send these so. */
const METADATA_ONLY = new Set(['Namespace', 'ServiceAccount']);

/**
 * A Secret, ConfigMap, Namespace or ServiceAccount sent as protobuf, as the JSON object it stands
 * for (of the last two, only metadata is read); undefined for any other kind, which the caller refuses.
 */
export function decodeProtobufObject(body: Buffer): Record<string, unknown> | undefined {
  if (!unwrapEnvelope(body)) return undefined;
  const unknown = readFields(body.subarray(4));
  const typeMeta = unknown.get(1)?.[0];
  const kind = typeMeta ? str(readFields(typeMeta), 2) : undefined;
  const raw = unknown.get(2)?.[0];
  if (!raw || !kind || !(kind === 'Secret' || kind === 'ConfigMap' || METADATA_ONLY.has(kind))) return undefined;
  const f = readFields(raw);
  const metadata = decodeObjectMeta(f.get(1)?.[0]);
  if (METADATA_ONLY.has(kind)) return { apiVersion: 'v1', kind, metadata };
  if (kind === 'Secret') {
    const data = readMap(f, 2, true);
    const stringData = readMap(f, 4, false);
    return { apiVersion: 'v1', kind, metadata, ...(data ? { data } : {}), ...(str(f, 3) ? { type: str(f, 3) } : {}), ...(stringData ? { stringData } : {}) };
  }
  const data = readMap(f, 2, false);
  const binaryData = readMap(f, 3, true);
  return { apiVersion: 'v1', kind, metadata, ...(data ? { data } : {}), ...(binaryData ? { binaryData } : {}) };
}
