/**
 * REST for every resource of the table: list (JSON or Table), get, watch (handed to watch.ts),
 * create, update, the four PATCH types, delete, deletecollection, and the status and scale
 * subresources; `dryRun=All` on every write. Authorization has already happened when these run;
 * writes go through writes.ts.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { parse as parseYaml } from 'yaml';
import type { ObjectStore, StoredObject } from './store.js';
import { parseSelectors, selectorFields } from './selectors.js';
import { toTable, wantsTable } from './table.js';
import { sendStatus } from './status.js';
import { readBody, sendJson } from './http.js';
import { queryBool } from './query.js';
import { serveWatch } from './watch.js';
import { apiVersionOf, resourceKey, type ResourceDef } from './resource-table.js';
import { ApiError, notFound, type ObjectWriter, type WriteOptions } from './writes.js';
import { jsonPatch, mergePatch, PatchError, strategicMerge } from './patch.js';
import { conflictMessage, serverSideApply } from './managed-fields.js';
import type { KubeObject } from './types.js';
import { decodeProtobufObject, unwrapEnvelope } from './protobuf.js';

export interface Target {
  def: ResourceDef;
  /** Objects of one namespace; undefined for all namespaces (and cluster-scoped resources). */
  namespace?: string;
  /** A single object (`.../pods/{name}?watch=true`). */
  name?: string;
  subresource?: string;
}

/** Field selectors each kind supports beyond metadata.name and metadata.namespace. */
const FIELDS: Record<string, string[]> = {
  Pod: [
    'spec.nodeName',
    'spec.restartPolicy',
    'spec.schedulerName',
    'spec.serviceAccountName',
    'spec.hostNetwork',
    'status.phase',
    'status.podIP',
    'status.nominatedNodeName',
  ],
  Secret: ['type'],
  Namespace: ['status.phase'],
  Node: ['spec.unschedulable'],
  Job: ['status.successful'],
  ReplicaSet: ['status.replicas'],
  Event: [
    'involvedObject.kind',
    'involvedObject.namespace',
    'involvedObject.name',
    'involvedObject.uid',
    'involvedObject.apiVersion',
    'involvedObject.resourceVersion',
    'involvedObject.fieldPath',
    'reason',
    'reportingComponent',
    'source',
    'type',
  ],
};

const PATCH_TYPES = new Set([
  'application/json-patch+json',
  'application/merge-patch+json',
  'application/strategic-merge-patch+json',
  'application/apply-patch+yaml',
]);

function fieldValue(o: KubeObject, path: string): string {
  if (path === 'source') return String(o.source?.component ?? '');
  let cur: unknown = o;
  for (const seg of path.split('.')) cur = cur && typeof cur === 'object' ? (cur as KubeObject)[seg] : undefined;
  return cur === undefined || cur === null ? '' : String(cur);
}

/** The manager of a write: `fieldManager`, else the User-Agent's program name, as the apiserver does. */
function managerOf(req: IncomingMessage, query: URLSearchParams): string {
  const explicit = query.get('fieldManager');
  if (explicit) return explicit;
  return (req.headers['user-agent'] ?? 'unknown').split('/')[0] || 'unknown';
}

function parseJson(body: Buffer): KubeObject {
  if (unwrapEnvelope(body)) {
    const decoded = decodeProtobufObject(body);
    if (decoded) return decoded;
    throw new ApiError(
      415,
      'UnsupportedMediaType',
      'the emulator reads protobuf bodies of Secrets, ConfigMaps, Namespaces and ServiceAccounts only; send JSON',
    );
  }
  try {
    return JSON.parse(body.toString('utf8')) as KubeObject;
  } catch (err) {
    throw new ApiError(400, 'BadRequest', `the body of the request was in an unknown format: ${(err as Error).message}`);
  }
}

/** autoscaling/v1 Scale of a workload. */
function scaleOf(o: KubeObject): KubeObject {
  const match: Record<string, string> = o.spec?.selector?.matchLabels ?? {};
  return {
    kind: 'Scale',
    apiVersion: 'autoscaling/v1',
    metadata: {
      name: o.metadata.name,
      namespace: o.metadata.namespace,
      uid: o.metadata.uid,
      resourceVersion: o.metadata.resourceVersion,
      creationTimestamp: o.metadata.creationTimestamp,
    },
    spec: { replicas: o.spec?.replicas ?? 0 },
    status: {
      replicas: o.status?.replicas ?? 0,
      selector: Object.entries(match)
        .map(([k, v]) => `${k}=${v}`)
        .join(','),
    },
  };
}

export class ResourceHandlers {
  readonly #store: ObjectStore;
  readonly #writer: ObjectWriter;
  readonly #now: () => number;

  constructor(store: ObjectStore, writer: ObjectWriter, now: () => number) {
    this.#store = store;
    this.#writer = writer;
    this.#now = now;
  }

  /** Serves one resource request; ApiErrors become their Status. */
  async serve(
    req: IncomingMessage,
    res: ServerResponse,
    t: Target,
    verb: string,
    query: URLSearchParams,
    trackOpen: (r: ServerResponse) => ServerResponse,
  ): Promise<void> {
    try {
      await this.#serve(req, res, t, verb, query, trackOpen);
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      if (!res.headersSent) sendStatus(res, err.code, err.reason, err.message, err.details);
    }
  }

  async #serve(
    req: IncomingMessage,
    res: ServerResponse,
    t: Target,
    verb: string,
    query: URLSearchParams,
    trackOpen: (r: ServerResponse) => ServerResponse,
  ): Promise<void> {
    const { def } = t;
    if (t.subresource && !(t.subresource === 'status' && def.status) && !(t.subresource === 'scale' && def.scale)) {
      throw new ApiError(404, 'NotFound', 'the server could not find the requested resource', {});
    }
    if (verb === 'watch') return this.#watch(req, trackOpen(res), t, query, this.#selector(def, query));
    if (verb === 'list') return this.#list(req, res, t, query, this.#selector(def, query));
    const dryRun = this.#dryRun(query, verb);
    const opts: WriteOptions = { dryRun, manager: managerOf(req, query), ...(t.subresource ? { subresource: t.subresource } : {}) };
    if (verb === 'create' && !t.name) {
      const body = parseJson(await readBody(req));
      return sendJson(res, 201, await this.#writer.create(def, t.namespace, body, opts));
    }
    if (verb === 'deletecollection') {
      const body = await readBody(req);
      const fromBody = body.length ? (parseJson(body).dryRun as string[] | undefined) : undefined;
      const items = this.#items(t).filter(this.#selector(def, query));
      const removed = items.map((i) => this.#writer.remove(def, i, dryRun || Boolean(fromBody?.includes('All'))));
      return sendJson(res, 200, {
        kind: `${def.kind}List`,
        apiVersion: apiVersionOf(def),
        metadata: { resourceVersion: String(this.#store.resourceVersion) },
        items: removed,
      });
    }
    if (!t.name) throw new ApiError(405, 'MethodNotAllowed', `the server does not allow this method on the requested resource`);
    const name = t.name;
    const item = this.#store.get(resourceKey(def.group, def.resource), def.namespaced ? t.namespace : undefined, name);
    if (verb === 'patch') return this.#patch(req, res, t, item, opts, query);
    if (!item) throw notFound(def, name);
    if (verb === 'get') {
      if (t.subresource === 'scale') return sendJson(res, 200, scaleOf(item.object));
      if (wantsTable(req.headers.accept))
        return sendJson(res, 200, toTable([item], def.kind, this.#store.resourceVersion, this.#now(), query.get('includeObject') ?? 'Metadata'));
      return sendJson(res, 200, item.object);
    }
    if (verb === 'update') {
      const body = parseJson(await readBody(req));
      if (t.subresource === 'scale') return sendJson(res, 200, scaleOf(this.#scale(def, item, body, opts)));
      return sendJson(res, 200, this.#writer.update(def, item, body, opts));
    }
    if (verb === 'delete') {
      const body = await readBody(req);
      const options = body.length ? parseJson(body) : {};
      if (options.dryRun !== undefined) this.#checkDryRun(options.dryRun as string[], 'delete');
      const gone = this.#writer.remove(def, item, dryRun || (options.dryRun as string[] | undefined)?.includes('All') === true);
      return sendJson(res, 200, gone);
    }
    throw new ApiError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource');
  }

  #items(t: Target): StoredObject[] {
    return this.#store.list(resourceKey(t.def.group, t.def.resource), t.def.namespaced ? t.namespace : undefined);
  }

  #selector(def: ResourceDef, query: URLSearchParams): (item: StoredObject) => boolean {
    const fieldSelector = query.get('fieldSelector');
    const extra = selectorFields(fieldSelector).filter((f) => f !== 'metadata.name' && f !== 'metadata.namespace');
    for (const f of extra) if (!(FIELDS[def.kind] ?? []).includes(f)) throw new ApiError(400, 'BadRequest', `field label not supported: ${f}`);
    const selector = parseSelectors(query.get('labelSelector'), fieldSelector);
    return (item) => {
      const fields: Record<string, string> = { 'metadata.name': item.name, 'metadata.namespace': item.namespace ?? '' };
      for (const f of extra) fields[f] = fieldValue(item.object, f);
      return selector(item.object.metadata.labels ?? {}, fields);
    };
  }

  /** dryRun: absent, or All (the only value the apiserver knows); anything else is refused as it does. */
  #dryRun(query: URLSearchParams, verb: string): boolean {
    const values = query.getAll('dryRun');
    if (values.length === 0) return false;
    this.#checkDryRun(values, verb);
    return true;
  }

  #checkDryRun(values: string[], verb: string): void {
    if (values.every((v) => v === 'All')) return;
    const options =
      verb === 'create'
        ? 'CreateOptions'
        : verb === 'delete' || verb === 'deletecollection'
          ? 'DeleteOptions'
          : verb === 'patch'
            ? 'PatchOptions'
            : 'UpdateOptions';
    const shown = `[]string{${values.map((v) => JSON.stringify(v)).join(', ')}}`;
    throw new ApiError(422, 'Invalid', `${options}.meta.k8s.io "" is invalid: dryRun: Unsupported value: ${shown}: supported values: "All"`, {
      group: 'meta.k8s.io',
      kind: options,
    });
  }

  #list(req: IncomingMessage, res: ServerResponse, t: Target, query: URLSearchParams, selector: (item: StoredObject) => boolean): void {
    const items = this.#items(t).filter(selector);
    const rv = this.#store.resourceVersion;
    if (wantsTable(req.headers.accept)) return sendJson(res, 200, toTable(items, t.def.kind, rv, this.#now(), query.get('includeObject') ?? 'Metadata'));
    sendJson(res, 200, {
      kind: `${t.def.kind}List`,
      apiVersion: apiVersionOf(t.def),
      metadata: { resourceVersion: String(rv) },
      items: items.map((i) => i.object),
    });
  }

  #watch(req: IncomingMessage, res: ServerResponse, t: Target, query: URLSearchParams, selector: (item: StoredObject) => boolean): void {
    const key = resourceKey(t.def.group, t.def.resource);
    const namespace = t.def.namespaced ? t.namespace : undefined;
    serveWatch(res, this.#store, {
      kind: t.def.kind,
      apiVersion: apiVersionOf(t.def),
      current: () => this.#items(t),
      bookmarks: queryBool(query, 'allowWatchBookmarks'),
      matches: (item) =>
        item.resource === key && (namespace === undefined || item.namespace === namespace) && (t.name === undefined || item.name === t.name) && selector(item),
      table: wantsTable(req.headers.accept),
      includeObject: query.get('includeObject') ?? 'Metadata',
      resourceVersion: query.get('resourceVersion'),
      timeoutSeconds: Number(query.get('timeoutSeconds') ?? '0') || 0,
      sendInitialEvents: queryBool(query, 'sendInitialEvents'),
      now: this.#now,
    });
  }

  /** Sets a workload's spec.replicas from a Scale; returns the workload as stored. */
  #scale(def: ResourceDef, item: StoredObject, scale: KubeObject, opts: WriteOptions): KubeObject {
    const replicas = scale.spec?.replicas;
    if (!Number.isInteger(replicas) || replicas < 0) {
      throw new ApiError(
        422,
        'Invalid',
        `Scale.autoscaling "${item.name}" is invalid: spec.replicas: Invalid value: ${JSON.stringify(replicas)}: must be greater than or equal to 0`,
        {
          name: item.name,
          group: 'autoscaling',
          kind: 'Scale',
        },
      );
    }
    const rv = scale.metadata?.resourceVersion;
    const candidate = {
      ...item.object,
      metadata: { ...item.object.metadata, resourceVersion: rv || item.object.metadata.resourceVersion },
      spec: { ...item.object.spec, replicas },
    };
    return this.#writer.update(def, item, candidate, opts);
  }

  async #patch(
    req: IncomingMessage,
    res: ServerResponse,
    t: Target,
    item: StoredObject | undefined,
    opts: WriteOptions,
    query: URLSearchParams,
  ): Promise<void> {
    const { def } = t;
    const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    const raw = await readBody(req);
    if (!PATCH_TYPES.has(type)) {
      throw new ApiError(
        415,
        'UnsupportedMediaType',
        `the body of the request was in an unknown format - accepted media types include: ${[...PATCH_TYPES].join(', ')}`,
      );
    }
    if (type === 'application/apply-patch+yaml') {
      if (!query.get('fieldManager')) {
        throw new ApiError(422, 'Invalid', 'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch', {
          group: 'meta.k8s.io',
          kind: 'PatchOptions',
        });
      }
      return this.#apply(res, t, item, raw, opts, queryBool(query, 'force'));
    }
    if (!item) throw notFound(def, t.name!);
    if (type === 'application/strategic-merge-patch+json' && def.custom) {
      throw new ApiError(415, 'UnsupportedMediaType', 'strategic merge patch format is not supported');
    }
    const patch = parseJson(raw);
    const base = t.subresource === 'scale' ? scaleOf(item.object) : item.object;
    let patched: KubeObject;
    try {
      if (type === 'application/json-patch+json') patched = jsonPatch(base, patch) as KubeObject;
      else if (type === 'application/merge-patch+json') patched = mergePatch(base, patch) as KubeObject;
      else patched = strategicMerge(base, patch) as KubeObject;
    } catch (err) {
      if (!(err instanceof PatchError)) throw err;
      throw new ApiError(
        422,
        'Invalid',
        `${def.kind} "${item.name}" is invalid: patch: Invalid value: ${JSON.stringify(raw.toString('utf8'))}: ${err.message}`,
      );
    }
    if (t.subresource === 'scale') return sendJson(res, 200, scaleOf(this.#scale(def, item, patched, opts)));
    // A patch that names no resourceVersion is applied to the latest object.
    if (!patch.metadata?.resourceVersion && patched.metadata) patched.metadata.resourceVersion = item.object.metadata.resourceVersion;
    sendJson(res, 200, this.#writer.update(def, item, patched, opts));
  }

  async #apply(res: ServerResponse, t: Target, item: StoredObject | undefined, raw: Buffer, opts: WriteOptions, force: boolean): Promise<void> {
    const { def } = t;
    let applied: KubeObject;
    try {
      applied = parseYaml(raw.toString('utf8')) as KubeObject;
    } catch (err) {
      throw new ApiError(400, 'BadRequest', `error decoding YAML: ${(err as Error).message}`);
    }
    if (!applied || typeof applied !== 'object' || Array.isArray(applied)) throw new ApiError(400, 'BadRequest', 'the applied configuration is not an object');
    if (applied.metadata?.name !== undefined && applied.metadata.name !== t.name) {
      throw new ApiError(400, 'BadRequest', `the name of the object (${String(applied.metadata.name)}) does not match the name on the URL (${t.name})`);
    }
    const apiVersion = apiVersionOf(def);
    const writer = { manager: opts.manager, apiVersion, time: new Date(Math.floor(this.#now() / 1000) * 1000).toISOString().replace('.000Z', 'Z') };
    const result = serverSideApply(item?.object, { ...applied, metadata: { ...applied.metadata, name: t.name } }, writer, force);
    if (!result.ok) {
      throw new ApiError(409, 'Conflict', conflictMessage(result.conflicts, apiVersion), {
        name: t.name!,
        ...(def.group ? { group: def.group } : {}),
        kind: def.resource,
        // The real Status lists each conflict as a cause; kubectl prints the message.
      });
    }
    if (!item) {
      const created = await this.#writer.create(def, t.namespace, result.object, { ...opts, managed: true });
      return sendJson(res, 201, created);
    }
    const candidate = { ...result.object, metadata: { ...result.object.metadata, resourceVersion: item.object.metadata.resourceVersion } };
    sendJson(res, 200, this.#writer.update(def, item, candidate, { ...opts, managed: true }));
  }
}
