/**
 * A small Kubernetes apiserver over HTTPS that real kubectl (1.28 … 1.35) and helm accept: /version,
 * discovery, the resources of resource-table.ts (REST in resources.ts, writes in writes.ts, a few
 * controllers), pods/log (follow), exec and port-forward (handed to the streaming handlers), and
 * the self-review APIs behind `kubectl auth whoami` and `kubectl auth can-i`.
 */
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { SeedKubernetes } from '../seed.js';
import type { StreamingHandlers, UserInfo } from './types.js';
import { Identities, type RequestAttributes } from './identity.js';
import { ObjectStore } from './store.js';
import { apiVersions, Discovery, versionInfo } from './discovery.js';
import { ResourceRegistry } from './resource-table.js';
import { ObjectWriter } from './writes.js';
import { Controllers } from './controllers.js';
import { OpenApi } from './openapi.js';
import { sendStatus } from './status.js';
import { readBody, sendJson } from './http.js';
import { LIST_INTS, QueryError, queryBool, queryInts } from './query.js';
import { parseApiPath, resourceTarget } from './paths.js';
import { ResourceHandlers } from './resources.js';
import { servePodLog } from './logs.js';
import { selfSubjectAccessReview, selfSubjectReview, selfSubjectRulesReview } from './reviews.js';
import { decodeRulesReviewNamespace, unwrapEnvelope } from './protobuf.js';
import { createUpgradeHandler, UPGRADE_SUBRESOURCES } from './upgrades.js';
import { RequestLog, type LogSink } from '../request-log.js';

export interface ApiServerOptions {
  kubernetes: SeedKubernetes;
  tls: { cert: string; key: string };
  host?: string;
  port?: number;
  streaming?: StreamingHandlers;
  now?: () => number;
  /** Where `arcproxy emulator --log` lines go (request-log.ts); none: no log. */
  requestLog?: LogSink;
}

export interface ApiServer {
  /** https://127.0.0.1:PORT */
  readonly url: string;
  /** Bearer token of system:serviceaccount:azure-arc:clusterconnect-agent, the only identity whose Impersonate-* headers count. */
  readonly agentToken: string;
  /** Adds a running pod (watchers see ADDED); resolves once its echo ports listen. */
  createPod(namespace: string, name: string): Promise<void>;
  deletePod(namespace: string, name: string): boolean;
  close(): Promise<void>;
}

const NOT_FOUND = 'the server could not find the requested resource';
const HEALTH_PATHS = new Set(['/healthz', '/livez', '/readyz']);

const VERB_OF_METHOD: Record<string, string> = { POST: 'create', DELETE: 'delete', PATCH: 'patch', PUT: 'update' };

/** The RBAC verb of a resource request. */
function verbOf(method: string, hasName: boolean, watching: boolean): string {
  if (method === 'GET' || method === 'HEAD') return watching ? 'watch' : hasName ? 'get' : 'list';
  return VERB_OF_METHOD[method] ?? method.toLowerCase();
}

function namespaceOfRulesReview(body: Buffer): string | undefined {
  const envelope = unwrapEnvelope(body);
  if (envelope) return decodeRulesReviewNamespace(envelope);
  try {
    return (JSON.parse(body.toString('utf8')) as { spec?: { namespace?: string } }).spec?.namespace;
  } catch {
    return undefined;
  }
}

export async function createApiServer(opts: ApiServerOptions): Promise<ApiServer> {
  const now = opts.now ?? Date.now;
  const identities = new Identities(opts.kubernetes);
  const store = new ObjectStore(now);
  await store.seed(opts.kubernetes);
  const registry = new ResourceRegistry();
  const docs = new Discovery(registry);
  const writer = new ObjectWriter(store, registry, now);
  const resources = new ResourceHandlers(store, writer, now);
  const controllers = new Controllers(store, writer, registry, now);
  const openApi = new OpenApi(registry, store, opts.kubernetes.version.gitVersion);
  // Watches and followed logs stay open until close() ends them.
  const openResponses = new Set<ServerResponse>();
  let serverAddress = '127.0.0.1:0';

  /** The caller, or undefined once a 401/403 Status has been sent. */
  const authenticate = (req: IncomingMessage, res: ServerResponse): UserInfo | undefined => {
    const auth = identities.authenticate(req);
    if (auth.ok) return auth.user;
    sendStatus(res, auth.code, auth.code === 401 ? 'Unauthorized' : 'Forbidden', auth.message, auth.details);
    return undefined;
  };

  /** The caller if RBAC allows the request; otherwise the apiserver's Forbidden Status is sent. */
  const authorize = (req: IncomingMessage, res: ServerResponse, attrs: RequestAttributes): UserInfo | undefined => {
    const user = authenticate(req, res);
    if (!user) return undefined;
    if (identities.allowed(user, attrs)) return user;
    const details = { ...(attrs.name ? { name: attrs.name } : {}), ...(attrs.group ? { group: attrs.group } : {}), kind: attrs.resource };
    sendStatus(res, 403, 'Forbidden', Identities.forbiddenMessage(user, attrs), details);
    return undefined;
  };

  const discovery = (path: string): unknown => {
    if (path === '/version') return versionInfo(opts.kubernetes);
    if (path === '/api') return apiVersions(serverAddress);
    if (path === '/apis') return docs.groupList();
    const parsed = parseApiPath(path);
    if (parsed && parsed.rest.length === 0)
      return parsed.group === '' ? (parsed.version === 'v1' ? docs.coreResourceList() : undefined) : docs.groupResourceList(parsed.group, parsed.version);
    // /apis/{group} (no version) names the group.
    const m = /^\/apis\/([^/]+)$/.exec(path);
    return m ? docs.group(m[1]!) : undefined;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'https://apiserver');
    const path = url.pathname.replace(/\/+$/, '') || '/';
    const method = req.method ?? 'GET';
    const query = url.searchParams;

    if (method === 'GET') {
      const doc = discovery(path);
      if (doc !== undefined) {
        if (!authenticate(req, res)) return;
        return sendJson(res, 200, doc);
      }
      const openapi = path.startsWith('/openapi/') ? openApi.serve(path, req.headers.accept) : undefined;
      if (openapi) {
        if (!authenticate(req, res)) return;
        res.writeHead(200, { 'content-type': openapi.contentType, 'content-length': openapi.body.length, 'cache-control': 'no-cache, private' });
        res.end(openapi.body);
        return;
      }
      if (HEALTH_PATHS.has(path)) {
        res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'content-length': 2 }).end('ok');
        return;
      }
    }
    const parsed = parseApiPath(path);

    // Self reviews: any authenticated caller, any served version (kubectl 1.28 may ask for v1beta1/v1alpha1).
    if (parsed && method === 'POST' && parsed.rest.length === 1) {
      const kind = `${parsed.group}/${parsed.rest[0]}`;
      if (kind === 'authentication.k8s.io/selfsubjectreviews' && docs.groupResourceList(parsed.group, parsed.version)) {
        const user = authenticate(req, res);
        if (!user) return;
        await readBody(req); // protobuf or JSON: the answer does not depend on it
        return selfSubjectReview(res, user, parsed.version, now());
      }
      if (kind === 'authorization.k8s.io/selfsubjectaccessreviews' || kind === 'authorization.k8s.io/selfsubjectrulesreviews') {
        const user = authenticate(req, res);
        if (!user) return;
        const body = await readBody(req);
        if (kind.endsWith('accessreviews')) return selfSubjectAccessReview(res, identities, user, body);
        return selfSubjectRulesReview(res, identities, user, namespaceOfRulesReview(body));
      }
    }

    const target = parsed ? resourceTarget(parsed.rest) : undefined;
    const def = parsed && target ? registry.lookup(parsed.group, parsed.version, target.resource) : undefined;
    if (!target || !def || (!def.namespaced && target.namespace !== undefined)) {
      if (!authenticate(req, res)) return;
      return sendStatus(res, 404, 'NotFound', NOT_FOUND, {});
    }
    const watching = target.watchPath === true || (!target.subresource && queryBool(query, 'watch'));
    const verb =
      target.subresource === 'log'
        ? 'get'
        : target.subresource && UPGRADE_SUBRESOURCES.has(target.subresource)
          ? 'create'
          : method === 'DELETE' && !target.name
            ? 'deletecollection'
            : verbOf(method, target.name !== undefined, watching);
    const attrs: RequestAttributes = {
      verb,
      group: def.group,
      resource: def.resource,
      ...(target.subresource ? { subresource: target.subresource } : {}),
      ...(target.namespace ? { namespace: target.namespace } : {}),
      ...(target.name ? { name: target.name } : {}),
    };
    if (!authorize(req, res, attrs)) return;
    if (verb === 'list' || verb === 'watch') queryInts(query, LIST_INTS);
    if (def.kind === 'Pod' && target.name && target.subresource === 'log') {
      const pod = store.runtime(target.namespace ?? 'default', target.name);
      if (!pod) return sendStatus(res, 404, 'NotFound', `pods "${target.name}" not found`, { name: target.name, kind: 'pods' });
      return servePodLog(trackOpen(res), pod, query);
    }
    if (def.kind === 'Pod' && target.subresource && UPGRADE_SUBRESOURCES.has(target.subresource))
      return sendStatus(res, 400, 'BadRequest', 'Upgrade request required');
    if (verb === 'create' && ((target.name && !target.subresource) || (def.namespaced && !target.namespace)))
      return sendStatus(res, 405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource');
    const namespace = def.namespaced ? (target.namespace ?? (target.name ? 'default' : undefined)) : undefined;
    return resources.serve(
      req,
      res,
      {
        def,
        ...(namespace !== undefined ? { namespace } : {}),
        ...(target.name ? { name: target.name } : {}),
        ...(target.subresource ? { subresource: target.subresource } : {}),
      },
      verb,
      query,
      trackOpen,
    );
  };

  /** Registers a long-lived response so close() can end it. */
  function trackOpen(res: ServerResponse): ServerResponse {
    openResponses.add(res);
    res.once('close', () => openResponses.delete(res));
    return res;
  }

  const log = opts.requestLog ? new RequestLog(opts.requestLog, 'apiserver') : undefined;
  /** The user name the request acts as (impersonated, for the agent), for the log. */
  const userOf = (req: IncomingMessage): string => {
    const auth = identities.authenticate(req);
    return auth.ok ? auth.user.username : '-';
  };

  const server: Server = createServer({ cert: opts.tls.cert, key: opts.tls.key, ALPNProtocols: ['http/1.1'] }, (req, res) => {
    log?.request(req, res, () => userOf(req));
    handle(req, res).catch((err: Error) => {
      // A query parameter the parameter codec cannot decode (query.ts): the apiserver's 400.
      if (err instanceof QueryError && !res.headersSent) sendStatus(res, 400, 'BadRequest', err.message);
      else if (!res.headersSent) sendStatus(res, 500, 'InternalError', `emulator error: ${err.message}`);
      else res.destroy();
    });
  });
  const onUpgrade = createUpgradeHandler(identities, store, opts.streaming);
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    log?.upgrade(req, socket, () => userOf(req));
    onUpgrade(req, socket, head);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { address, port } = server.address() as AddressInfo;
  serverAddress = `${address}:${port}`;

  return {
    url: `https://${address.includes(':') ? `[${address}]` : address}:${port}`,
    agentToken: identities.agentToken,
    createPod: async (namespace, name) => {
      await store.addPod(namespace, name, { containers: ['main'], echoPorts: [8080] });
    },
    deletePod: (namespace, name) => store.deletePod(namespace, name) !== undefined,
    close: async () => {
      controllers.stop();
      for (const res of openResponses) res.end();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await store.close();
    },
  };
}
