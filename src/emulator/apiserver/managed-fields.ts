/**
 * metadata.managedFields and server-side apply, simplified: a manager owns a set of leaf fields
 * (lists with a merge key are entered item by item, `k:{"name":"web"}`; other lists are one
 * field). An update (PUT, or a non-apply PATCH) gives its manager the fields whose values it
 * changed; an apply gives its manager exactly the fields of the applied configuration, removes
 * fields it owned before and no longer applies (unless another manager owns them too), and
 * conflicts (409) when it would change a field another manager owns, unless forced, in which case
 * ownership moves. Real apiserver's structured-merge-diff does more (atomic maps, sets of
 * primitives, versions); this is enough for kubectl apply --server-side and helm.
 */
import type { KubeObject } from './types.js';
import { mergeKeyOf } from './patch.js';

/** A field path: `f:spec`, `k:{"name":"web"}`, `f:image`. */
type Path = string[];

const isObject = (v: unknown): v is KubeObject => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Metadata the server owns, never a manager. */
const SERVER_METADATA = new Set([
  'name',
  'namespace',
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'managedFields',
  'selfLink',
  'deletionTimestamp',
]);

function itemKey(item: KubeObject, key: string): string {
  return `k:${JSON.stringify({ [key]: item[key] })}`;
}

/** `field` names this value's field, `parent` the field of the map holding it (for list merge keys). */
function walk(value: unknown, path: Path, field: string | undefined, parent: string | undefined, out: Path[]): void {
  if (isObject(value) && Object.keys(value).length > 0) {
    for (const [k, v] of Object.entries(value)) {
      if (path.length === 0 && (k === 'apiVersion' || k === 'kind' || k === 'status')) continue;
      if (path.length === 1 && path[0] === 'f:metadata' && SERVER_METADATA.has(k)) continue;
      walk(v, [...path, `f:${k}`], k, field, out);
    }
    return;
  }
  const key = Array.isArray(value) && field ? mergeKeyOf(field, parent) : undefined;
  if (key && Array.isArray(value) && value.length > 0 && value.every((i) => isObject(i) && i[key] !== undefined)) {
    for (const item of value as KubeObject[]) {
      const p = [...path, itemKey(item, key)];
      out.push([...p, '.']);
      walk(item, p, field, parent, out);
    }
    return;
  }
  out.push(path);
}

/** The leaf fields an object sets (status and server metadata left out). */
function fieldsOf(object: KubeObject): Path[] {
  const out: Path[] = [];
  walk(object, [], undefined, undefined, out);
  return out.filter((p) => p.length > 0);
}

function valueAt(object: unknown, path: Path): unknown {
  let cur = object;
  for (const seg of path) {
    if (seg === '.') return cur;
    if (seg.startsWith('f:')) cur = isObject(cur) ? cur[seg.slice(2)] : undefined;
    else {
      const want = JSON.parse(seg.slice(2)) as KubeObject;
      const [k, v] = Object.entries(want)[0]!;
      cur = Array.isArray(cur) ? cur.find((i) => isObject(i) && i[k] === v) : undefined;
    }
    if (cur === undefined) return undefined;
  }
  return cur;
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** fieldsV1 as the apiserver writes it: nested objects keyed by path segment. */
function toFieldsV1(paths: Path[]): KubeObject {
  const root: KubeObject = {};
  for (const p of paths) {
    let node = root;
    for (const seg of p) node = (node[seg] ??= {}) as KubeObject;
  }
  return root;
}

function fromFieldsV1(node: KubeObject, prefix: Path = [], out: Path[] = []): Path[] {
  const keys = Object.keys(node);
  if (keys.length === 0 && prefix.length > 0) out.push(prefix);
  for (const k of keys) fromFieldsV1(node[k] as KubeObject, [...prefix, k], out);
  return out;
}

export interface ManagedEntry {
  manager: string;
  operation: 'Apply' | 'Update';
  apiVersion: string;
  time: string;
  fieldsType: 'FieldsV1';
  fieldsV1: KubeObject;
  subresource?: string;
}

const pathKey = (p: Path) => p.join('\u0000');

function entries(object: KubeObject): ManagedEntry[] {
  const m = object.metadata?.managedFields;
  return Array.isArray(m) ? (m as ManagedEntry[]) : [];
}

function withEntries(list: ManagedEntry[]): ManagedEntry[] | undefined {
  const kept = list.filter((e) => Object.keys(e.fieldsV1).length > 0);
  return kept.length ? kept : undefined;
}

function setEntries(object: KubeObject, list: ManagedEntry[]): KubeObject {
  const kept = withEntries(list);
  const metadata = { ...object.metadata };
  if (kept) metadata.managedFields = kept;
  else delete metadata.managedFields;
  return { ...object, metadata };
}

export interface Writer {
  manager: string;
  apiVersion: string;
  time: string;
  subresource?: string;
}

/** managedFields after an update by `writer` from `before` (undefined: a create) to `after`. */
export function recordUpdate(before: KubeObject | undefined, after: KubeObject, writer: Writer): KubeObject {
  const changed = fieldsOf(after).filter((p) => !before || !same(valueAt(before, p), valueAt(after, p)));
  const list = entries(before ?? {}).map((e) => ({ ...e }));
  const changedKeys = new Set(changed.map(pathKey));
  const stillThere = (p: Path) => valueAt(after, p) !== undefined;
  // Others keep what they own unless this update changed it or removed it.
  for (const e of list) e.fieldsV1 = toFieldsV1(fromFieldsV1(e.fieldsV1).filter((p) => !changedKeys.has(pathKey(p)) && stillThere(p)));
  if (changed.length > 0) {
    const mine = list.find((e) => e.manager === writer.manager && e.operation === 'Update' && e.subresource === writer.subresource);
    const owned = mine ? fromFieldsV1(mine.fieldsV1) : [];
    const fields = toFieldsV1([...owned, ...changed]);
    const entry: ManagedEntry = {
      manager: writer.manager,
      operation: 'Update',
      apiVersion: writer.apiVersion,
      time: writer.time,
      fieldsType: 'FieldsV1',
      fieldsV1: fields,
      ...(writer.subresource ? { subresource: writer.subresource } : {}),
    };
    if (mine) list.splice(list.indexOf(mine), 1, entry);
    else list.push(entry);
  }
  return setEntries(after, list);
}

export interface ApplyConflict {
  manager: string;
  subresource?: string;
  field: string;
}

/** `.spec.replicas`, `.spec.template.spec.containers[name="web"].image`: how conflicts name fields. */
function describe(path: Path): string {
  return path
    .filter((s) => s !== '.')
    .map((s) => {
      if (s.startsWith('f:')) return `.${s.slice(2)}`;
      const [k, v] = Object.entries(JSON.parse(s.slice(2)) as KubeObject)[0]!;
      return `[${k}=${JSON.stringify(v)}]`;
    })
    .join('');
}

function mergeApplied(live: unknown, applied: unknown, field: string | undefined, parentField: string | undefined): unknown {
  if (isObject(applied)) {
    const out: KubeObject = isObject(live) ? { ...live } : {};
    for (const [k, v] of Object.entries(applied)) out[k] = mergeApplied(out[k], v, k, field);
    return out;
  }
  if (Array.isArray(applied) && field) {
    const key = mergeKeyOf(field, parentField);
    if (key && Array.isArray(live) && applied.every((i) => isObject(i) && i[key] !== undefined)) {
      const out = [...live];
      for (const item of applied as KubeObject[]) {
        const i = out.findIndex((o) => isObject(o) && o[key] === item[key]);
        if (i >= 0) out[i] = mergeApplied(out[i], item, field, parentField);
        else out.push(item);
      }
      return out;
    }
  }
  return applied;
}

function removeAt(object: unknown, path: Path): void {
  const last = path[path.length - 1] === '.' ? path.slice(0, -1) : path;
  const parent = valueAt(object, last.slice(0, -1));
  const seg = last[last.length - 1]!;
  if (seg.startsWith('f:') && isObject(parent)) delete parent[seg.slice(2)];
  else if (seg.startsWith('k:') && Array.isArray(parent)) {
    const [k, v] = Object.entries(JSON.parse(seg.slice(2)) as KubeObject)[0]!;
    const i = parent.findIndex((o) => isObject(o) && o[k] === v);
    if (i >= 0) parent.splice(i, 1);
  }
}

export type ApplyResult = { ok: true; object: KubeObject } | { ok: false; conflicts: ApplyConflict[] };

/** Server-side apply of `applied` onto `live` (undefined: the object is created by this apply). */
export function serverSideApply(live: KubeObject | undefined, applied: KubeObject, writer: Writer, force: boolean): ApplyResult {
  const appliedFields = fieldsOf(applied);
  const list = entries(live ?? {}).map((e) => ({ ...e }));
  const conflicts: ApplyConflict[] = [];
  const appliedKeys = new Set(appliedFields.map(pathKey));
  for (const e of list) {
    if (e.manager === writer.manager && e.operation === 'Apply') continue;
    for (const p of fromFieldsV1(e.fieldsV1)) {
      if (!appliedKeys.has(pathKey(p)) || p[p.length - 1] === '.') continue;
      if (!same(valueAt(live, p), valueAt(applied, p)))
        conflicts.push({ manager: e.manager, ...(e.subresource ? { subresource: e.subresource } : {}), field: describe(p) });
    }
  }
  if (conflicts.length && !force) return { ok: false, conflicts };

  // Ownership moves to the applier for the fields it changed (forced) or shares those it agrees on.
  const changed = new Set(appliedFields.filter((p) => !same(valueAt(live, p), valueAt(applied, p))).map(pathKey));
  for (const e of list) {
    if (e.manager === writer.manager && e.operation === 'Apply') continue;
    e.fieldsV1 = toFieldsV1(fromFieldsV1(e.fieldsV1).filter((p) => !changed.has(pathKey(p))));
  }
  const previous = list.find((e) => e.manager === writer.manager && e.operation === 'Apply');
  let object = mergeApplied(live ?? {}, applied, undefined, undefined) as KubeObject;
  if (previous) {
    const ownedByOthers = new Set(list.filter((e) => e !== previous).flatMap((e) => fromFieldsV1(e.fieldsV1).map(pathKey)));
    object = JSON.parse(JSON.stringify(object)) as KubeObject;
    for (const p of fromFieldsV1(previous.fieldsV1)) if (!appliedKeys.has(pathKey(p)) && !ownedByOthers.has(pathKey(p))) removeAt(object, p);
  }
  const entry: ManagedEntry = {
    manager: writer.manager,
    operation: 'Apply',
    apiVersion: writer.apiVersion,
    time: writer.time,
    fieldsType: 'FieldsV1',
    fieldsV1: toFieldsV1(appliedFields),
    ...(writer.subresource ? { subresource: writer.subresource } : {}),
  };
  const rest = list.filter((e) => e !== previous);
  return { ok: true, object: setEntries(object, previous ? list.map((e) => (e === previous ? entry : e)) : [...rest, entry]) };
}

/** The apiserver's message for apply conflicts. */
export function conflictMessage(conflicts: ApplyConflict[], apiVersion: string): string {
  const lines = conflicts.map(
    (c) => `conflict with "${c.manager}"${c.subresource ? ` with subresource "${c.subresource}"` : ''} using ${apiVersion}: ${c.field}`,
  );
  return `Apply failed with ${conflicts.length} conflict${conflicts.length === 1 ? '' : 's'}: ${lines.join('\n')}`;
}
