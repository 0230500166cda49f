/**
 * A small Kubernetes apiserver over HTTPS that real kubectl (1.28 … 1.35) accepts: /version,
 * discovery, namespaces, pods (list, get, watch, Table or JSON, create, delete), pods/log
 * (follow), exec and port-forward (handed to the streaming handlers), and the self-review APIs
 * behind `kubectl auth whoami` and `kubectl auth can-i`.
 */
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { SeedKubernetes } from '../seed.js';
import type { StreamingHandlers, UserInfo } from './types.js';
import { Identities, type RequestAttributes } from './identity.js';
import { ObjectStore, type ChangeEvent, type StoredObject } from './store.js';
import { toTable, wantsTable } from './table.js';
import { apiVersions, coreResourceList, group, groupList, groupResourceList, versionInfo } from './discovery.js';
import { sendStatus, writeRawStatus } from './status.js';
import { decodeAccessReviewSpec, unwrapEnvelope, type AccessReviewSpec } from './protobuf.js';

export interface ApiServerOptions {
  kubernetes: SeedKubernetes;
  tls: { cert: string; key: string };
  host?: string;
  port?: number;
  streaming?: StreamingHandlers;
  now?: () => number;
}

export interface ApiServer {
  /** https://127.0.0.1:PORT */
  readonly url: string;
  /** Bearer token of system:serviceaccount:azure-arc:clusterconnect-agent, the only identity whose Impersonate-* headers count. */
  readonly agentToken: string;
  createPod(namespace: string, name: string): Promise<void>;
  deletePod(namespace: string, name: string): boolean;
  close(): Promise<void>;
}

const MAX_BODY = 1024 * 1024;
const SUBRESOURCE_UPGRADES = new Set(['exec', 'attach', 'portforward']);

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(new Error('request body too large'));
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-cache, private' });
  res.end(text);
}

const truthy = (v: string | null) => v === 'true' || v === '1';

/** Splits /api/v1/... and /apis/{group}/{version}/... into request attributes. */
interface ParsedPath {
  group: string;
  version: string;
  /** Segments after the group version. */
  rest: string[];
}

function parseApiPath(pathname: string): ParsedPath | undefined {
  const seg = pathname.split('/').filter(Boolean).map(decodeURIComponent);
  if (seg[0] === 'api' && seg[1]) return { group: '', version: seg[1], rest: seg.slice(2) };
  if (seg[0] === 'apis' && seg[1] && seg[2]) return { group: seg[1], version: seg[2], rest: seg.slice(3) };
  return undefined;
}

/** namespaces/{ns}/pods/{name}/{sub} | pods | namespaces/{ns} | namespaces */
function resourceTarget(rest: string[]): { namespace?: string; resource: string; name?: string; subresource?: string } | undefined {
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    return { namespace: rest[1], resource: rest[2]!, ...(rest[3] ? { name: rest[3] } : {}), ...(rest[4] ? { subresource: rest[4] } : {}) };
  }
  if (rest.length === 1) return { resource: rest[0]! };
  if (rest.length === 2) return { resource: rest[0]!, name: rest[1] };
  return undefined;
}

function fieldSelectorMatches(selector: string | null, item: StoredObject): boolean {
  if (!selector) return true;
  return selector.split(',').every((term) => {
    const m = /^([\w.]+)(==|=|!=)(.*)$/.exec(term.trim());
    if (!m) return true;
    const value = m[1] === 'metadata.name' ? item.name : m[1] === 'metadata.namespace' ? item.namespace : undefined;
    if (value === undefined) return true;
    return m[2] === '!=' ? value !== m[3] : value === m[3];
  });
}

function labelSelectorMatches(selector: string | null, item: StoredObject): boolean {
  if (!selector) return true;
  const labels: Record<string, string> = item.object.metadata.labels ?? {};
  return selector.split(',').every((term) => {
    const m = /^([\w./-]+)\s*(==|=|!=)\s*(.*)$/.exec(term.trim());
    if (m) return m[2] === '!=' ? labels[m[1]!] !== m[3] : labels[m[1]!] === m[3];
    const key = term.trim();
    return key.startsWith('!') ? !(key.slice(1) in labels) : key in labels;
  });
}

export async function createApiServer(opts: ApiServerOptions): Promise<ApiServer> {
  const now = opts.now ?? Date.now;
  const identities = new Identities(opts.kubernetes);
  const store = new ObjectStore(now);
  await store.seed(opts.kubernetes);
  const openResponses = new Set<ServerResponse>();
  let serverAddress = '127.0.0.1:0';

  const authorize = (req: IncomingMessage, res: ServerResponse, attrs: RequestAttributes): UserInfo | undefined => {
    const auth = identities.authenticate(req);
    if (!auth.ok) {
      sendStatus(res, auth.code, auth.code === 401 ? 'Unauthorized' : 'Forbidden', auth.message, auth.details);
      return undefined;
    }
    if (!identities.allowed(auth.user, attrs)) {
      const kind = attrs.subresource ? `${attrs.resource}` : attrs.resource;
      sendStatus(res, 403, 'Forbidden', Identities.forbiddenMessage(auth.user, attrs), { ...(attrs.name ? { name: attrs.name } : {}), ...(attrs.group ? { group: attrs.group } : {}), kind });
      return undefined;
    }
    return auth.user;
  };

  const authenticated = (req: IncomingMessage, res: ServerResponse): UserInfo | undefined => {
    const auth = identities.authenticate(req);
    if (!auth.ok) {
      sendStatus(res, auth.code, auth.code === 401 ? 'Unauthorized' : 'Forbidden', auth.message, auth.details);
      return undefined;
    }
    return auth.user;
  };

  const list = (req: IncomingMessage, res: ServerResponse, url: URL, kind: 'Pod' | 'Namespace', namespace: string | undefined) => {
    const items = (kind === 'Pod' ? store.pods(namespace) : store.namespaces()).filter(
      (i) => fieldSelectorMatches(url.searchParams.get('fieldSelector'), i) && labelSelectorMatches(url.searchParams.get('labelSelector'), i),
    );
    const rv = store.resourceVersion;
    if (wantsTable(req.headers.accept)) return sendJson(res, 200, toTable(items, kind, rv, now(), url.searchParams.get('includeObject') ?? 'Metadata'));
    sendJson(res, 200, { kind: `${kind}List`, apiVersion: 'v1', metadata: { resourceVersion: String(rv) }, items: items.map((i) => i.object) });
  };

  const watch = (req: IncomingMessage, res: ServerResponse, url: URL, kind: 'Pod' | 'Namespace', namespace: string | undefined) => {
    const table = wantsTable(req.headers.accept);
    const includeObject = url.searchParams.get('includeObject') ?? 'Metadata';
    const matches = (item: StoredObject) =>
      item.kind === kind &&
      (namespace === undefined || item.namespace === namespace) &&
      fieldSelectorMatches(url.searchParams.get('fieldSelector'), item) &&
      labelSelectorMatches(url.searchParams.get('labelSelector'), item);
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-cache, private', 'transfer-encoding': 'chunked' });
    res.flushHeaders();
    openResponses.add(res);
    const send = (type: string, item: StoredObject) => {
      const object = table ? toTable([item], kind, Number(item.object.metadata.resourceVersion), now(), includeObject) : item.object;
      res.write(`${JSON.stringify({ type, object })}\n`);
    };
    const rvParam = url.searchParams.get('resourceVersion');
    const since = rvParam && rvParam !== '0' ? Number(rvParam) : undefined;
    if (since === undefined) {
      for (const item of kind === 'Pod' ? store.pods(namespace) : store.namespaces()) if (matches(item)) send('ADDED', item);
    } else {
      for (const e of store.changesSince(since)) if (matches(e.item)) send(e.type, e.item);
    }
    const onChange = (e: ChangeEvent) => {
      if (matches(e.item)) send(e.type, e.item);
    };
    store.on('change', onChange);
    const timeoutSeconds = Number(url.searchParams.get('timeoutSeconds') ?? '0');
    const timer = timeoutSeconds > 0 ? setTimeout(() => res.end(), timeoutSeconds * 1000) : undefined;
    const done = () => {
      store.off('change', onChange);
      if (timer) clearTimeout(timer);
      openResponses.delete(res);
    };
    res.on('close', done);
    req.on('close', done);
  };

  const podLogs = (req: IncomingMessage, res: ServerResponse, url: URL, namespace: string, name: string) => {
    const runtime = store.runtime(namespace, name);
    if (!runtime) return sendStatus(res, 404, 'NotFound', `pods "${name}" not found`, { name, kind: 'pods' });
    const container = url.searchParams.get('container');
    if (container && !runtime.containers.includes(container)) {
      return sendStatus(res, 400, 'BadRequest', `container ${container} is not valid for pod ${name}`);
    }
    const timestamps = truthy(url.searchParams.get('timestamps'));
    const tail = url.searchParams.get('tailLines');
    const format = (l: { time: Date; text: string }) => `${timestamps ? `${l.time.toISOString()} ` : ''}${l.text}\n`;
    let history = runtime.logHistory();
    if (tail !== null && /^\d+$/.test(tail)) history = history.slice(Math.max(0, history.length - Number(tail)));
    res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'no-cache, private', 'transfer-encoding': 'chunked' });
    for (const l of history) res.write(format(l));
    if (!truthy(url.searchParams.get('follow'))) {
      res.end();
      return;
    }
    res.flushHeaders();
    openResponses.add(res);
    const onLog = (l: { time: Date; text: string }) => res.write(format(l));
    const onStop = () => res.end();
    runtime.on('log', onLog);
    runtime.once('stopped', onStop);
    res.on('close', () => {
      runtime.off('log', onLog);
      runtime.off('stopped', onStop);
      openResponses.delete(res);
    });
  };

  const createPodFromBody = async (req: IncomingMessage, res: ServerResponse, namespace: string) => {
    let body: Record<string, any>;
    try {
      body = JSON.parse((await readBody(req)).toString('utf8')) as Record<string, any>;
    } catch {
      return sendStatus(res, 400, 'BadRequest', 'the request body is not a JSON Pod');
    }
    const meta = body.metadata ?? {};
    const name: string | undefined = meta.name ?? (meta.generateName ? `${meta.generateName}${Math.random().toString(36).slice(2, 7)}` : undefined);
    if (!name) return sendStatus(res, 422, 'Invalid', 'Pod "" is invalid: metadata.name: Required value: name or generateName is required');
    if (store.pod(namespace, name)) return sendStatus(res, 409, 'AlreadyExists', `pods "${name}" already exists`, { name, kind: 'pods' });
    const containers: { name: string; ports?: { containerPort: number }[] }[] = body.spec?.containers ?? [];
    const item = await store.addPod(namespace, name, {
      containers: containers.map((c) => c.name),
      echoPorts: containers.flatMap((c) => (c.ports ?? []).map((p) => p.containerPort)),
      ...(meta.labels ? { labels: meta.labels } : {}),
    });
    sendJson(res, 201, item.object);
  };

  const selfSubjectReview = (res: ServerResponse, user: UserInfo, version: string) =>
    sendJson(res, 201, {
      kind: 'SelfSubjectReview',
      apiVersion: `authentication.k8s.io/${version}`,
      metadata: { creationTimestamp: new Date(now()).toISOString() },
      status: { userInfo: { username: user.username, ...(user.uid ? { uid: user.uid } : {}), groups: user.groups } },
    });

  const selfSubjectAccessReview = async (req: IncomingMessage, res: ServerResponse, user: UserInfo) => {
    const body = await readBody(req);
    let spec: AccessReviewSpec;
    const envelope = unwrapEnvelope(body);
    try {
      spec = envelope ? decodeAccessReviewSpec(envelope) : ((JSON.parse(body.toString('utf8')) as { spec?: AccessReviewSpec }).spec ?? {});
    } catch {
      return sendStatus(res, 400, 'BadRequest', 'cannot decode the SelfSubjectAccessReview');
    }
    let allowed = false;
    const ra = spec.resourceAttributes;
    if (ra) {
      allowed = identities.allowed(user, {
        verb: ra.verb ?? '',
        group: ra.group ?? '',
        resource: ra.resource ?? '',
        ...(ra.subresource ? { subresource: ra.subresource } : {}),
        ...(ra.namespace ? { namespace: ra.namespace } : {}),
        ...(ra.name ? { name: ra.name } : {}),
      });
    } else if (spec.nonResourceAttributes) {
      const role = identities.roleOf(user);
      allowed = role === 'cluster-admin' || (spec.nonResourceAttributes.verb === 'get' && /^\/(api|apis|version|healthz|livez|readyz)(\/|$)/.test(spec.nonResourceAttributes.path ?? ''));
    }
    const role = identities.roleOf(user);
    sendJson(res, 201, {
      kind: 'SelfSubjectAccessReview',
      apiVersion: 'authorization.k8s.io/v1',
      metadata: { creationTimestamp: null },
      spec,
      status: { allowed, ...(allowed ? { reason: `RBAC: allowed by ClusterRoleBinding to ClusterRole "${role}"` } : {}) },
    });
  };

  const selfSubjectRulesReview = (res: ServerResponse, user: UserInfo) => {
    const role = identities.roleOf(user);
    const resourceRules =
      role === 'cluster-admin'
        ? [{ verbs: ['*'], apiGroups: ['*'], resources: ['*'] }]
        : role === 'view'
          ? [{ verbs: ['get', 'list', 'watch'], apiGroups: [''], resources: ['pods', 'pods/log', 'namespaces', 'services', 'events', 'configmaps'] }]
          : [];
    sendJson(res, 201, {
      kind: 'SelfSubjectRulesReview',
      apiVersion: 'authorization.k8s.io/v1',
      metadata: { creationTimestamp: null },
      spec: {},
      status: {
        resourceRules: [...resourceRules, { verbs: ['create'], apiGroups: ['authorization.k8s.io'], resources: ['selfsubjectaccessreviews', 'selfsubjectrulesreviews'] }, { verbs: ['create'], apiGroups: ['authentication.k8s.io'], resources: ['selfsubjectreviews'] }],
        nonResourceRules: [{ verbs: ['get'], nonResourceURLs: ['/api', '/api/*', '/apis', '/apis/*', '/healthz', '/livez', '/readyz', '/version', '/version/'] }],
        incomplete: false,
      },
    });
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'https://apiserver');
    const path = url.pathname.replace(/\/+$/, '') || '/';
    const method = req.method ?? 'GET';

    // Non-resource endpoints: any authenticated caller.
    if (path === '/version' || path === '/api' || path === '/apis' || path === '/healthz' || path === '/livez' || path === '/readyz') {
      if (!authenticated(req, res)) return;
      if (path === '/version') return sendJson(res, 200, versionInfo(opts.kubernetes));
      if (path === '/api') return sendJson(res, 200, apiVersions(serverAddress));
      if (path === '/apis') return sendJson(res, 200, groupList());
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
      return;
    }
    const parsed = parseApiPath(path);
    if (!parsed) {
      if (!authenticated(req, res)) return;
      return sendStatus(res, 404, 'NotFound', 'the server could not find the requested resource');
    }
    if (parsed.rest.length === 0) {
      if (!authenticated(req, res)) return;
      const doc = parsed.group === '' ? (parsed.version === 'v1' ? coreResourceList() : undefined) : groupResourceList(parsed.group, parsed.version);
      return doc ? sendJson(res, 200, doc) : sendStatus(res, 404, 'NotFound', 'the server could not find the requested resource');
    }
    if (parsed.group !== '' && parsed.version === '' ) return sendStatus(res, 404, 'NotFound', 'the server could not find the requested resource');

    if (parsed.group === 'authentication.k8s.io' && parsed.rest[0] === 'selfsubjectreviews' && method === 'POST') {
      const user = authenticated(req, res);
      if (!user) return;
      await readBody(req); // protobuf or JSON: the answer does not depend on it
      return selfSubjectReview(res, user, parsed.version);
    }
    if (parsed.group === 'authorization.k8s.io' && method === 'POST' && (parsed.rest[0] === 'selfsubjectaccessreviews' || parsed.rest[0] === 'selfsubjectrulesreviews')) {
      const user = authenticated(req, res);
      if (!user) return;
      if (parsed.rest[0] === 'selfsubjectaccessreviews') return selfSubjectAccessReview(req, res, user);
      await readBody(req);
      return selfSubjectRulesReview(res, user);
    }
    if (parsed.group !== '' || parsed.version !== 'v1') {
      if (!authenticated(req, res)) return;
      return sendStatus(res, 404, 'NotFound', 'the server could not find the requested resource');
    }

    const target = resourceTarget(parsed.rest);
    if (!target || (target.resource !== 'pods' && target.resource !== 'namespaces')) {
      if (!authenticated(req, res)) return;
      return sendStatus(res, 404, 'NotFound', 'the server could not find the requested resource');
    }
    const isWatch = truthy(url.searchParams.get('watch'));
    const verb =
      method === 'GET' ? (target.name ? 'get' : isWatch ? 'watch' : 'list') : method === 'POST' ? 'create' : method === 'DELETE' ? 'delete' : method === 'PATCH' ? 'patch' : method === 'PUT' ? 'update' : method.toLowerCase();

    // namespaces/{ns} (a Namespace), not namespaces/{ns}/pods
    if (parsed.rest[0] === 'namespaces' && parsed.rest.length === 2) {
      const name = parsed.rest[1]!;
      if (!authorize(req, res, { verb, group: '', resource: 'namespaces', name })) return;
      const ns = store.namespace(name);
      if (!ns) return sendStatus(res, 404, 'NotFound', `namespaces "${name}" not found`, { name, kind: 'namespaces' });
      if (verb !== 'get') return sendStatus(res, 405, 'MethodNotAllowed', `the emulator does not ${verb} namespaces`);
      return sendJson(res, 200, ns.object);
    }
    if (target.resource === 'namespaces') {
      if (!authorize(req, res, { verb, group: '', resource: 'namespaces' })) return;
      if (verb === 'watch') return watch(req, res, url, 'Namespace', undefined);
      if (verb === 'list') return list(req, res, url, 'Namespace', undefined);
      return sendStatus(res, 405, 'MethodNotAllowed', `the emulator does not ${verb} namespaces`);
    }

    // pods
    const attrs: RequestAttributes = {
      verb: target.subresource === 'log' ? 'get' : verb,
      group: '',
      resource: 'pods',
      ...(target.subresource ? { subresource: target.subresource } : {}),
      ...(target.namespace ? { namespace: target.namespace } : {}),
      ...(target.name ? { name: target.name } : {}),
    };
    if (target.subresource && SUBRESOURCE_UPGRADES.has(target.subresource)) attrs.verb = 'create';
    if (!authorize(req, res, attrs)) return;
    if (target.namespace && !store.namespace(target.namespace) && verb !== 'list' && verb !== 'watch') {
      return sendStatus(res, 404, 'NotFound', `namespaces "${target.namespace}" not found`, { name: target.namespace, kind: 'namespaces' });
    }
    if (!target.name) {
      if (verb === 'watch') return watch(req, res, url, 'Pod', target.namespace);
      if (verb === 'list') return list(req, res, url, 'Pod', target.namespace);
      if (verb === 'create' && target.namespace) return createPodFromBody(req, res, target.namespace);
      return sendStatus(res, 405, 'MethodNotAllowed', `the emulator does not ${verb} pods collections`);
    }
    const ns = target.namespace ?? 'default';
    if (target.subresource === 'log') return podLogs(req, res, url, ns, target.name);
    if (target.subresource && SUBRESOURCE_UPGRADES.has(target.subresource)) {
      return sendStatus(res, 400, 'BadRequest', 'Upgrade request required');
    }
    if (target.subresource) return sendStatus(res, 404, 'NotFound', 'the server could not find the requested resource');
    if (verb === 'get') {
      const pod = store.pod(ns, target.name);
      if (!pod) return sendStatus(res, 404, 'NotFound', `pods "${target.name}" not found`, { name: target.name, kind: 'pods' });
      if (wantsTable(req.headers.accept)) return sendJson(res, 200, toTable([pod], 'Pod', store.resourceVersion, now(), url.searchParams.get('includeObject') ?? 'Metadata'));
      return sendJson(res, 200, pod.object);
    }
    if (verb === 'delete') {
      await readBody(req);
      const gone = store.deletePod(ns, target.name);
      if (!gone) return sendStatus(res, 404, 'NotFound', `pods "${target.name}" not found`, { name: target.name, kind: 'pods' });
      return sendJson(res, 200, gone.object);
    }
    return sendStatus(res, 405, 'MethodNotAllowed', `the emulator does not ${verb} pods`);
  };

  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    const url = new URL(req.url ?? '/', 'https://apiserver');
    const parsed = parseApiPath(url.pathname);
    const target = parsed && parsed.group === '' ? resourceTarget(parsed.rest) : undefined;
    if (!target || target.resource !== 'pods' || !target.name || !target.namespace || !target.subresource || !SUBRESOURCE_UPGRADES.has(target.subresource)) {
      return writeRawStatus(socket, 404, 'NotFound', 'the server could not find the requested resource');
    }
    const auth = identities.authenticate(req);
    if (!auth.ok) return writeRawStatus(socket, auth.code, auth.code === 401 ? 'Unauthorized' : 'Forbidden', auth.message, auth.details);
    const attrs: RequestAttributes = { verb: 'create', group: '', resource: 'pods', subresource: target.subresource, namespace: target.namespace, name: target.name };
    if (!identities.allowed(auth.user, attrs)) {
      return writeRawStatus(socket, 403, 'Forbidden', Identities.forbiddenMessage(auth.user, attrs), { name: target.name, kind: 'pods' });
    }
    const pod = store.runtime(target.namespace, target.name);
    if (!pod) return writeRawStatus(socket, 404, 'NotFound', `pods "${target.name}" not found`, { name: target.name, kind: 'pods' });
    if (!opts.streaming) return writeRawStatus(socket, 501, 'NotImplemented', 'this apiserver has no streaming handlers');
    const q = url.searchParams;
    if (target.subresource === 'portforward') {
      const ports = q.getAll('ports').flatMap((p) => p.split(',')).map(Number).filter((n) => Number.isInteger(n) && n > 0);
      return opts.streaming.portForward(req, socket, head, { pod, ports });
    }
    const container = q.get('container') ?? pod.containers[0] ?? '';
    if (!pod.containers.includes(container)) {
      return writeRawStatus(socket, 400, 'BadRequest', `container ${container} is not valid for pod ${target.name}`);
    }
    opts.streaming.exec(req, socket, head, {
      pod,
      container,
      command: q.getAll('command'),
      stdin: truthy(q.get('stdin')),
      stdout: truthy(q.get('stdout')),
      stderr: truthy(q.get('stderr')),
      tty: truthy(q.get('tty')),
    });
  };

  const server: Server = createServer({ cert: opts.tls.cert, key: opts.tls.key, ALPNProtocols: ['http/1.1'] }, (req, res) => {
    handle(req, res).catch((err: Error) => {
      if (!res.headersSent) sendStatus(res, 500, 'InternalError', `emulator error: ${err.message}`);
      else res.destroy();
    });
  });
  server.on('upgrade', onUpgrade);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve());
  });
  const { address, port } = server.address() as AddressInfo;
  serverAddress = `${address}:${port}`;

  return {
    url: `https://${address}:${port}`,
    agentToken: identities.agentToken,
    createPod: async (namespace, name) => {
      await store.addPod(namespace, name, { containers: ['main'], echoPorts: [8080] });
    },
    deletePod: (namespace, name) => store.deletePod(namespace, name) !== undefined,
    close: async () => {
      for (const res of openResponses) res.end();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await store.close();
    },
  };
}
