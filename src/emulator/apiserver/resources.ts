/**
 * Namespaces and pods over REST: list (JSON or Table), get, create from a JSON Pod, delete, and
 * watch (handed to watch.ts). Authorization has already happened when these run.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ObjectStore, StoredObject } from './store.js';
import { parseSelectors } from './selectors.js';
import { toTable, wantsTable } from './table.js';
import { sendStatus } from './status.js';
import { readBody, sendJson } from './http.js';
import { queryBool } from './query.js';
import { serveWatch } from './watch.js';
import type { KubeObject } from './types.js';

export type Kind = 'Pod' | 'Namespace';

export interface Scope {
  kind: Kind;
  /** Pods of one namespace; undefined for all namespaces (and for namespaces themselves). */
  namespace?: string;
  /** A single object (`.../pods/{name}?watch=true`). */
  name?: string;
}

const RESOURCE = { Pod: 'pods', Namespace: 'namespaces' } as const;

export class ResourceHandlers {
  readonly #store: ObjectStore;
  readonly #now: () => number;

  constructor(store: ObjectStore, now: () => number) {
    this.#store = store;
    this.#now = now;
  }

  #matcher(scope: Scope, query: URLSearchParams): (item: StoredObject) => boolean {
    const selector = parseSelectors(query.get('labelSelector'), query.get('fieldSelector'));
    return (item) =>
      item.kind === scope.kind &&
      (scope.namespace === undefined || item.namespace === scope.namespace) &&
      (scope.name === undefined || item.name === scope.name) &&
      selector(item.object.metadata.labels ?? {}, { 'metadata.name': item.name, 'metadata.namespace': item.namespace ?? '' });
  }

  #all(kind: Kind): StoredObject[] {
    return kind === 'Pod' ? this.#store.pods() : this.#store.namespaces();
  }

  list(req: IncomingMessage, res: ServerResponse, scope: Scope, query: URLSearchParams): void {
    const items = this.#all(scope.kind).filter(this.#matcher(scope, query));
    const rv = this.#store.resourceVersion;
    if (wantsTable(req.headers.accept)) return sendJson(res, 200, toTable(items, scope.kind, rv, this.#now(), query.get('includeObject') ?? 'Metadata'));
    sendJson(res, 200, { kind: `${scope.kind}List`, apiVersion: 'v1', metadata: { resourceVersion: String(rv) }, items: items.map((i) => i.object) });
  }

  watch(req: IncomingMessage, res: ServerResponse, scope: Scope, query: URLSearchParams): void {
    serveWatch(res, this.#store, {
      kind: scope.kind,
      matches: this.#matcher(scope, query),
      table: wantsTable(req.headers.accept),
      includeObject: query.get('includeObject') ?? 'Metadata',
      resourceVersion: query.get('resourceVersion'),
      timeoutSeconds: Number(query.get('timeoutSeconds') ?? '0') || 0,
      sendInitialEvents: queryBool(query, 'sendInitialEvents'),
      now: this.#now,
    });
  }

  get(req: IncomingMessage, res: ServerResponse, kind: Kind, namespace: string | undefined, name: string, query: URLSearchParams): void {
    const item = kind === 'Pod' ? this.#store.pod(namespace ?? 'default', name) : this.#store.namespace(name);
    if (!item) return sendStatus(res, 404, 'NotFound', `${RESOURCE[kind]} "${name}" not found`, { name, kind: RESOURCE[kind] });
    if (wantsTable(req.headers.accept))
      return sendJson(res, 200, toTable([item], kind, this.#store.resourceVersion, this.#now(), query.get('includeObject') ?? 'Metadata'));
    sendJson(res, 200, item.object);
  }

  async createPod(req: IncomingMessage, res: ServerResponse, namespace: string): Promise<void> {
    let body: KubeObject;
    try {
      body = JSON.parse((await readBody(req)).toString('utf8')) as KubeObject;
    } catch {
      return sendStatus(res, 415, 'UnsupportedMediaType', 'the emulator accepts Pods as JSON only');
    }
    if (body.kind !== undefined && body.kind !== 'Pod') return sendStatus(res, 400, 'BadRequest', `the body is a ${String(body.kind)}, not a Pod`);
    const meta = body.metadata ?? {};
    if (meta.namespace && meta.namespace !== namespace) {
      return sendStatus(res, 400, 'BadRequest', 'the namespace of the provided object does not match the namespace sent on the request');
    }
    const name: string | undefined = meta.name ?? (meta.generateName ? `${meta.generateName}${Math.random().toString(36).slice(2, 7)}` : undefined);
    if (!name) return sendStatus(res, 422, 'Invalid', 'Pod "" is invalid: metadata.name: Required value: name or generateName is required', { kind: 'Pod' });
    if (this.#store.hasPod(namespace, name)) return sendStatus(res, 409, 'AlreadyExists', `pods "${name}" already exists`, { name, kind: 'pods' });
    const containers: { name: string; ports?: { containerPort: number }[] }[] = body.spec?.containers ?? [];
    const item = await this.#store.addPod(namespace, name, {
      containers: containers.map((c) => c.name),
      echoPorts: containers.flatMap((c) => (c.ports ?? []).map((p) => p.containerPort)),
      ...(meta.labels ? { labels: meta.labels } : {}),
    });
    sendJson(res, 201, item.object);
  }

  async deletePod(req: IncomingMessage, res: ServerResponse, namespace: string, name: string): Promise<void> {
    await readBody(req); // DeleteOptions: the emulator deletes at once whatever they say
    const gone = this.#store.deletePod(namespace, name);
    if (!gone) return sendStatus(res, 404, 'NotFound', `pods "${name}" not found`, { name, kind: 'pods' });
    sendJson(res, 200, gone.object);
  }
}
