/**
 * Upgrade requests for pods/exec, pods/attach and pods/portforward (WebSocket GET or SPDY/3.1
 * POST): authenticate, authorize `create` on the subresource, find the pod and parse the query,
 * then hand the socket to the streaming handlers. Refusals are raw HTTP Status responses.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { StreamingHandlers } from './types.js';
import { Identities, type RequestAttributes } from './identity.js';
import type { ObjectStore } from './store.js';
import { parseApiPath, resourceTarget } from './paths.js';
import { writeRawStatus } from './status.js';
import { QueryError, queryBool, queryPorts } from './query.js';

export const UPGRADE_SUBRESOURCES: ReadonlySet<string> = new Set(['exec', 'attach', 'portforward']);

export function createUpgradeHandler(identities: Identities, store: ObjectStore, streaming: StreamingHandlers | undefined) {
  return (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    socket.on('error', () => socket.destroy());
    const url = new URL(req.url ?? '/', 'https://apiserver');
    const parsed = parseApiPath(url.pathname);
    const target = parsed && parsed.group === '' && parsed.version === 'v1' ? resourceTarget(parsed.rest) : undefined;
    if (
      !target ||
      target.watchPath ||
      target.resource !== 'pods' ||
      !target.name ||
      !target.namespace ||
      !target.subresource ||
      !UPGRADE_SUBRESOURCES.has(target.subresource)
    ) {
      return writeRawStatus(socket, 404, 'NotFound', 'the server could not find the requested resource');
    }
    const auth = identities.authenticate(req);
    if (!auth.ok) return writeRawStatus(socket, auth.code, auth.code === 401 ? 'Unauthorized' : 'Forbidden', auth.message, auth.details);
    const attrs: RequestAttributes = {
      verb: 'create',
      group: '',
      resource: 'pods',
      subresource: target.subresource,
      namespace: target.namespace,
      name: target.name,
    };
    if (!identities.allowed(auth.user, attrs)) {
      return writeRawStatus(socket, 403, 'Forbidden', Identities.forbiddenMessage(auth.user, attrs), { name: target.name, kind: 'pods' });
    }
    // The options are decoded before the pod is looked up, as the apiserver's connect handler does.
    const q = url.searchParams;
    let ports: number[] = [];
    try {
      if (target.subresource === 'portforward') ports = queryPorts(q);
    } catch (err) {
      if (err instanceof QueryError) return writeRawStatus(socket, 400, 'BadRequest', err.message);
      throw err;
    }
    const pod = store.runtime(target.namespace, target.name);
    if (!pod) return writeRawStatus(socket, 404, 'NotFound', `pods "${target.name}" not found`, { name: target.name, kind: 'pods' });
    if (!streaming) return writeRawStatus(socket, 501, 'NotImplemented', 'this apiserver has no streaming handlers');
    if (target.subresource === 'portforward') return streaming.portForward(req, socket, head, { pod, ports });
    const container = q.get('container') ?? pod.containers[0] ?? '';
    if (!pod.containers.includes(container)) {
      return writeRawStatus(socket, 400, 'BadRequest', `container ${container} is not valid for pod ${target.name}`);
    }
    streaming.exec(req, socket, head, {
      pod,
      container,
      command: q.getAll('command'),
      stdin: queryBool(q, 'stdin'),
      stdout: queryBool(q, 'stdout'),
      stderr: queryBool(q, 'stderr'),
      tty: queryBool(q, 'tty'),
    });
  };
}
