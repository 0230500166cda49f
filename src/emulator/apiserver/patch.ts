/**
 * The three non-apply PATCH types on parsed JSON: RFC 6902 JSON patch, RFC 7386 merge patch, and
 * Kubernetes' strategic merge patch (lists merged by the key of a small table, `$patch`,
 * `$retainKeys`, `$deleteFromPrimitiveList`, `$setElementOrder`). Each returns a new object and
 * leaves its inputs alone; a patch that cannot apply throws PatchError.
 */
import type { KubeObject } from './types.js';

export class PatchError extends Error {}

type Json = unknown;
const isObject = (v: Json): v is KubeObject => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Merge keys of the lists that strategic merge patch merges item by item, by field name; `ports`
 * depends on where it is (a container's ports by containerPort, a Service's by port).
 */
const MERGE_KEYS: Record<string, string> = {
  containers: 'name',
  initContainers: 'name',
  ephemeralContainers: 'name',
  volumes: 'name',
  env: 'name',
  volumeMounts: 'mountPath',
  volumeDevices: 'devicePath',
  imagePullSecrets: 'name',
  hostAliases: 'ip',
  conditions: 'type',
  ownerReferences: 'uid',
  topologySpreadConstraints: 'topologyKey',
  resourceClaims: 'name',
};
/** Lists of strings merged as sets. */
const SET_LISTS = new Set(['finalizers']);

/** The merge key of the list at `field` under `parent` (its parent's field name), or undefined for an atomic list. */
export function mergeKeyOf(field: string, parent: string | undefined): string | undefined {
  if (field === 'ports') return parent === 'containers' || parent === 'initContainers' || parent === 'ephemeralContainers' ? 'containerPort' : 'port';
  return MERGE_KEYS[field];
}

// ---- JSON merge patch (RFC 7386) ----

export function mergePatch(target: Json, patch: Json): Json {
  if (!isObject(patch)) return patch;
  const out: KubeObject = isObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

// ---- JSON patch (RFC 6902) ----

function pointer(path: string): string[] {
  if (path === '') return [];
  if (!path.startsWith('/')) throw new PatchError(`invalid JSON pointer ${JSON.stringify(path)}`);
  return path
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function clone<T>(v: T): T {
  return v === undefined ? v : (JSON.parse(JSON.stringify(v)) as T);
}

function getAt(doc: Json, segs: string[]): Json {
  let cur = doc;
  for (const s of segs) {
    if (Array.isArray(cur)) cur = cur[Number(s)];
    else if (isObject(cur)) cur = cur[s];
    else return undefined;
  }
  return cur;
}

function parentOf(doc: Json, segs: string[], op: string): { parent: KubeObject | Json[]; last: string } {
  if (segs.length === 0) throw new PatchError(`${op} at the document root is not supported`);
  const parent = getAt(doc, segs.slice(0, -1));
  if (!isObject(parent) && !Array.isArray(parent)) throw new PatchError(`doc is missing path: "/${segs.join('/')}": missing value`);
  return { parent, last: segs[segs.length - 1]! };
}

function arrayIndex(list: Json[], s: string, forAdd: boolean): number {
  if (forAdd && s === '-') return list.length;
  const i = Number(s);
  if (!/^\d+$/.test(s) || i > list.length || (!forAdd && i === list.length)) throw new PatchError(`index out of bounds: ${s}`);
  return i;
}

function add(doc: Json, segs: string[], value: Json): void {
  const { parent, last } = parentOf(doc, segs, 'add');
  if (Array.isArray(parent)) parent.splice(arrayIndex(parent, last, true), 0, value);
  else parent[last] = value;
}

function remove(doc: Json, segs: string[]): Json {
  const { parent, last } = parentOf(doc, segs, 'remove');
  if (Array.isArray(parent)) return parent.splice(arrayIndex(parent, last, false), 1)[0];
  if (!(last in parent)) throw new PatchError(`unable to remove nonexistent key: ${last}: missing value`);
  const old = parent[last];
  delete parent[last];
  return old;
}

export function jsonPatch(target: Json, ops: Json): Json {
  if (!Array.isArray(ops)) throw new PatchError('a JSON patch is an array of operations');
  const doc = clone(target);
  for (const raw of ops) {
    if (!isObject(raw) || typeof raw.op !== 'string' || typeof raw.path !== 'string') throw new PatchError('each operation needs "op" and "path"');
    const segs = pointer(raw.path);
    switch (raw.op) {
      case 'add':
        add(doc, segs, clone(raw.value));
        break;
      case 'remove':
        remove(doc, segs);
        break;
      case 'replace':
        remove(doc, segs);
        add(doc, segs, clone(raw.value));
        break;
      case 'move':
      case 'copy': {
        const from = pointer(String(raw.from));
        const value = raw.op === 'move' ? remove(doc, from) : clone(getAt(doc, from));
        if (value === undefined) throw new PatchError(`missing value at ${String(raw.from)}`);
        add(doc, segs, value);
        break;
      }
      case 'test':
        if (JSON.stringify(getAt(doc, segs)) !== JSON.stringify(raw.value)) throw new PatchError('testing value failed');
        break;
      default:
        throw new PatchError(`unexpected kind: ${raw.op}`);
    }
  }
  return doc;
}

// ---- strategic merge patch ----

function strategicList(field: string, parentField: string | undefined, original: Json, patch: Json[], deleteFromPrimitive: Json[] | undefined): Json[] {
  const orig = Array.isArray(original) ? original : [];
  if (patch.some((p) => isObject(p) && p.$patch === 'replace')) return patch.filter((p) => !(isObject(p) && p.$patch === 'replace'));
  if (SET_LISTS.has(field)) {
    const out = orig.filter((v) => !(deleteFromPrimitive ?? []).includes(v));
    for (const v of patch) if (!out.includes(v)) out.push(v);
    return out;
  }
  const key = mergeKeyOf(field, parentField);
  if (!key || !patch.every(isObject)) return patch;
  const out: Json[] = [...orig];
  for (const p of patch as KubeObject[]) {
    const i = out.findIndex((o) => isObject(o) && o[key] === p[key]);
    if (p.$patch === 'delete') {
      if (i >= 0) out.splice(i, 1);
      continue;
    }
    if (i >= 0) out[i] = strategicMerge(out[i], p, field);
    else out.push(strategicMerge(undefined, p, field));
  }
  return out;
}

/** Applies a strategic merge patch; `field` is the name of the map being patched (for list merge keys inside it). */
export function strategicMerge(original: Json, patch: Json, field?: string): Json {
  if (!isObject(patch)) return patch;
  if (patch.$patch === 'delete') return undefined;
  const base: KubeObject = isObject(original) && patch.$patch !== 'replace' ? { ...original } : {};
  const retain = Array.isArray(patch.$retainKeys) ? (patch.$retainKeys as string[]) : undefined;
  for (const [k, v] of Object.entries(patch)) {
    if (k.startsWith('$')) continue;
    if (v === null) {
      delete base[k];
      continue;
    }
    if (Array.isArray(v)) {
      const del = patch[`$deleteFromPrimitiveList/${k}`];
      base[k] = strategicList(k, field, base[k], v, Array.isArray(del) ? del : undefined);
    } else {
      const merged = strategicMerge(base[k], v, k);
      if (merged === undefined) delete base[k];
      else base[k] = merged;
    }
  }
  for (const [k, v] of Object.entries(patch)) {
    const m = /^\$deleteFromPrimitiveList\/(.+)$/.exec(k);
    if (m && Array.isArray(base[m[1]!]) && !(m[1]! in patch)) base[m[1]!] = (base[m[1]!] as Json[]).filter((x) => !(v as Json[]).includes(x));
  }
  if (retain) for (const k of Object.keys(base)) if (!retain.includes(k)) delete base[k];
  // Keys the patch sets to null that were never there stay absent; `$patch: replace` keeps only the patch.
  return base;
}
