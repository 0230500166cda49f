/**
 * Every write to the store, from REST handlers and controllers alike: server-owned metadata (uid,
 * creationTimestamp, generation, resourceVersion, managedFields), defaults, validation, the
 * 404/409/422 answers as ApiError, dryRun (the answer as if stored, nothing stored or announced),
 * no-op updates that change nothing, and what follows a delete (dependents, a namespace's
 * contents, a CRD's kinds).
 */
import { randomUUID } from 'node:crypto';
import type { ObjectStore, StoredObject } from './store.js';
import { PODS } from './store.js';
import { apiVersionOf, crdResources, resourceKey, type ResourceDef, type ResourceRegistry } from './resource-table.js';
import { Defaulter } from './defaults.js';
import { invalidMessage, validate } from './validation.js';
import { recordUpdate } from './managed-fields.js';
import type { KubeObject } from './types.js';
import type { StatusDetails } from './status.js';

export class ApiError extends Error {
  readonly code: number;
  readonly reason: string;
  readonly details: StatusDetails | undefined;

  constructor(code: number, reason: string, message: string, details?: StatusDetails) {
    super(message);
    this.code = code;
    this.reason = reason;
    this.details = details;
  }
}

export interface WriteOptions {
  dryRun: boolean;
  /** metadata.managedFields manager. */
  manager: string;
  subresource?: string;
  /** managedFields already computed (server-side apply). */
  managed?: boolean;
}

/** `deployments.apps`, or `pods` for the core group. */
function qualifiedResource(def: ResourceDef): string {
  return def.group ? `${def.resource}.${def.group}` : def.resource;
}

function details(def: ResourceDef, name: string): StatusDetails {
  return { name, ...(def.group ? { group: def.group } : {}), kind: def.resource };
}

export function notFound(def: ResourceDef, name: string): ApiError {
  return new ApiError(404, 'NotFound', `${qualifiedResource(def)} "${name}" not found`, details(def, name));
}

/** Kinds with a status whose objects still carry no metadata.generation. */
const NO_GENERATION = new Set(['Pod', 'Service', 'PersistentVolumeClaim']);
const hasGeneration = (def: ResourceDef) => (def.status === true || def.custom === true) && !NO_GENERATION.has(def.kind);

const copy = (o: KubeObject): KubeObject => JSON.parse(JSON.stringify(o)) as KubeObject;

/** Everything but metadata and status: what bumps metadata.generation. */
function specOf(o: KubeObject): string {
  const { metadata: _m, status: _s, ...rest } = o;
  return JSON.stringify(rest);
}

/** The object as compared for a no-op update (managedFields times and resourceVersion aside). */
function comparable(o: KubeObject): string {
  const { managedFields: _f, resourceVersion: _r, ...meta } = o.metadata ?? {};
  return JSON.stringify({ ...o, metadata: meta });
}

export class ObjectWriter {
  readonly #store: ObjectStore;
  readonly #registry: ResourceRegistry;
  readonly #now: () => number;
  readonly #defaults = new Defaulter();

  constructor(store: ObjectStore, registry: ResourceRegistry, now: () => number) {
    this.#store = store;
    this.#registry = registry;
    this.#now = now;
  }

  #time(): string {
    return new Date(Math.floor(this.#now() / 1000) * 1000).toISOString().replace('.000Z', 'Z');
  }

  #check(def: ResourceDef, object: KubeObject): void {
    const errors = validate(def.kind, object);
    if (errors.length) {
      const name = String(object.metadata?.name ?? '');
      throw new ApiError(422, 'Invalid', invalidMessage(def.kind, def.group, name, errors), details(def, name));
    }
  }

  /** Creates `body` in `namespace` (undefined for cluster-scoped); returns what is (or would be) stored. */
  async create(def: ResourceDef, namespace: string | undefined, body: KubeObject, opts: WriteOptions): Promise<KubeObject> {
    if (def.readOnly) throw new ApiError(405, 'MethodNotAllowed', `the emulator does not create ${def.resource}`);
    if (body.kind !== undefined && body.kind !== def.kind) throw new ApiError(400, 'BadRequest', `the body is a ${String(body.kind)}, not a ${def.kind}`);
    const object = copy(body);
    object.kind = def.kind;
    object.apiVersion = apiVersionOf(def);
    const meta: KubeObject = (object.metadata ??= {});
    if (def.namespaced) {
      if (meta.namespace && meta.namespace !== namespace) {
        throw new ApiError(400, 'BadRequest', 'the namespace of the provided object does not match the namespace sent on the request');
      }
      meta.namespace = namespace;
    } else delete meta.namespace;
    if (!meta.name && meta.generateName) meta.name = `${String(meta.generateName)}${Math.random().toString(36).slice(2, 7)}`;
    if (!meta.name) {
      throw new ApiError(422, 'Invalid', `${def.kind} "" is invalid: metadata.name: Required value: name or generateName is required`, { kind: def.kind });
    }
    const name = String(meta.name);
    if (namespace !== undefined && def.namespaced && !this.#store.namespace(namespace)) {
      throw new ApiError(404, 'NotFound', `namespaces "${namespace}" not found`, { name: namespace, kind: 'namespaces' });
    }
    if (this.#store.has(resourceKey(def.group, def.resource), def.namespaced ? namespace : undefined, name)) {
      throw new ApiError(409, 'AlreadyExists', `${qualifiedResource(def)} "${name}" already exists`, details(def, name));
    }
    meta.uid = randomUUID();
    meta.creationTimestamp = this.#time();
    delete meta.resourceVersion;
    delete meta.deletionTimestamp;
    if (hasGeneration(def)) meta.generation = 1;
    if (def.status && def.kind !== 'Pod') delete object.status;
    this.#defaults.apply(def.kind, object, undefined);
    this.#check(def, object);
    if (def.kind === 'CustomResourceDefinition') object.status = crdStatus(object);
    let stored = opts.managed ? object : recordUpdate(undefined, object, { manager: opts.manager, apiVersion: object.apiVersion, time: this.#time() });
    if (def.kind === 'Pod') {
      const { spec, status } = this.#store.runningPod(stored.spec ?? {});
      stored = { ...stored, spec, status };
    }
    if (opts.dryRun) return stored;
    const item: StoredObject = {
      kind: def.kind,
      resource: resourceKey(def.group, def.resource),
      ...(def.namespaced ? { namespace } : {}),
      name,
      object: stored,
    };
    const saved = await this.#store.insert(item);
    if (def.kind === 'CustomResourceDefinition') this.#registry.setCustom(name, crdResources(stored.spec ?? {}));
    return saved.object;
  }

  /**
   * Replaces `old` with `candidate` (a new object the caller owns). A stale
   * metadata.resourceVersion is 409 Conflict; an update that changes nothing stores nothing.
   */
  update(def: ResourceDef, old: StoredObject, candidate: KubeObject, opts: WriteOptions): KubeObject {
    if (def.readOnly) throw new ApiError(405, 'MethodNotAllowed', `the emulator does not update ${def.resource}`);
    const prev = old.object;
    const meta: KubeObject = (candidate.metadata ??= {});
    if (meta.name !== undefined && meta.name !== old.name) {
      throw new ApiError(400, 'BadRequest', `the name of the object (${String(meta.name)}) does not match the name on the URL (${old.name})`);
    }
    if (meta.resourceVersion && meta.resourceVersion !== prev.metadata.resourceVersion) {
      throw new ApiError(
        409,
        'Conflict',
        `Operation cannot be fulfilled on ${qualifiedResource(def)} "${old.name}": the object has been modified; please apply your changes to the latest version and try again`,
        details(def, old.name),
      );
    }
    let next: KubeObject;
    if (opts.subresource === 'status') next = { ...prev, status: candidate.status, metadata: { ...prev.metadata } };
    else {
      next = { ...candidate, kind: def.kind, apiVersion: apiVersionOf(def) };
      if (def.status && 'status' in prev) next.status = prev.status;
      else if (def.status) delete next.status;
    }
    next.metadata = {
      ...next.metadata,
      name: prev.metadata.name,
      uid: prev.metadata.uid,
      creationTimestamp: prev.metadata.creationTimestamp,
      resourceVersion: prev.metadata.resourceVersion,
      ...(prev.metadata.namespace !== undefined ? { namespace: prev.metadata.namespace } : {}),
    };
    if (!opts.managed && prev.metadata.managedFields) next.metadata.managedFields = prev.metadata.managedFields;
    this.#defaults.apply(def.kind, next, prev);
    if (hasGeneration(def)) next.metadata.generation = specOf(next) === specOf(prev) ? prev.metadata.generation : (prev.metadata.generation ?? 0) + 1;
    if (def.kind === 'CustomResourceDefinition') next.status = crdStatus(next);
    this.#check(def, next);
    if (!opts.managed)
      next = recordUpdate(prev, next, {
        manager: opts.manager,
        apiVersion: next.apiVersion,
        time: this.#time(),
        ...(opts.subresource ? { subresource: opts.subresource } : {}),
      });
    if (comparable(next) === comparable(prev)) return prev;
    if (opts.dryRun) return next;
    const saved = this.#store.replace(old, next);
    if (def.kind === 'CustomResourceDefinition') this.#registry.setCustom(old.name, crdResources(next.spec ?? {}));
    return saved.object;
  }

  /** Deletes one object and what depends on it; returns it as last seen (with deletionTimestamp). */
  remove(def: ResourceDef, item: StoredObject, dryRun: boolean): KubeObject {
    if (def.readOnly) throw new ApiError(405, 'MethodNotAllowed', `the emulator does not delete ${def.resource}`);
    const at = this.#time();
    if (dryRun) return { ...item.object, metadata: { ...item.object.metadata, deletionTimestamp: at } };
    const gone = this.#store.remove(item.resource, item.namespace, item.name)!;
    this.#cascade(item);
    if (def.kind === 'Namespace') return { ...gone.object, status: { phase: 'Terminating' } };
    return gone.object;
  }

  /** Background deletion: dependents (by ownerReference), a namespace's objects, a CRD's objects. */
  #cascade(item: StoredObject): void {
    if (item.kind === 'Namespace') {
      for (const resource of this.#store.resources()) for (const o of this.#store.list(resource, item.name)) this.#store.remove(resource, o.namespace, o.name);
      return;
    }
    if (item.kind === 'CustomResourceDefinition') {
      const spec: KubeObject = item.object.spec ?? {};
      for (const o of this.#store.list(resourceKey(String(spec.group), String(spec.names?.plural)))) this.#store.remove(o.resource, o.namespace, o.name);
      this.#registry.setCustom(item.name, []);
      return;
    }
    const uid = item.object.metadata.uid;
    for (const resource of ['apps/replicasets', PODS]) {
      for (const o of this.#store.list(resource, item.namespace)) {
        const owners: KubeObject[] = o.object.metadata.ownerReferences ?? [];
        if (owners.some((r) => r.uid === uid) && this.#store.remove(resource, o.namespace, o.name)) this.#cascade(o);
      }
    }
  }
}

/** A CRD's status as the apiextensions apiserver sets it once its names are accepted. */
function crdStatus(crd: KubeObject): KubeObject {
  const t = crd.metadata?.creationTimestamp;
  const names: KubeObject = crd.spec?.names ?? {};
  return {
    acceptedNames: { ...names, singular: names.singular ?? String(names.kind ?? '').toLowerCase() },
    conditions: [
      { type: 'NamesAccepted', status: 'True', reason: 'NoConflicts', message: 'no conflicts found', lastTransitionTime: t },
      { type: 'Established', status: 'True', reason: 'InitialNamesAccepted', message: 'the initial names have been accepted', lastTransitionTime: t },
    ],
    storedVersions: ((crd.spec?.versions ?? []) as KubeObject[]).filter((v) => v.storage).map((v) => v.name),
  };
}
