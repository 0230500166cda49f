/**
 * Port-forward. kubectl: a SPDY/3.1 session (plain, or tunnelled in WebSocket binary messages under
 * the "SPDY/3.1+portforward.k8s.io" subprotocol). Other WebSocket clients: kubelet's channel
 * protocols (portforward-channels.ts). For every local connection kubectl opens an
 * error stream and a data stream sharing a requestid; the data stream is joined to the pod's
 * port, and failures are reported as text on the error stream, as kubelet does.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { createWebSocketStream } from 'ws';
import type { PodRuntime, PortForwardRequest } from '../types.js';
import { SpdySession, type SpdyStream } from './spdy/session.js';
import {
  acceptSpdy,
  acceptWebSocket,
  isSpdyUpgrade,
  isWebSocketUpgrade,
  negotiateStreamProtocol,
  offeredStreamProtocols,
  offeredWebSocketProtocols,
  rejectUpgrade,
} from './upgrade.js';
import { PORT_FORWARD_CHANNEL_PROTOCOLS, servePortForwardChannels } from './portforward-channels.js';

const PORT_FORWARD_PROTOCOL = 'portforward.k8s.io';
const PORT_FORWARD_WS_PROTOCOL = 'SPDY/3.1+portforward.k8s.io';
/** How long the second stream of a pair may lag behind the first (kubelet: 30s). */
const PAIR_TIMEOUT_MS = 30_000;

export function handlePortForward(req: IncomingMessage, socket: Duplex, head: Buffer, request: PortForwardRequest): void {
  socket.on('error', () => socket.destroy());
  if (isWebSocketUpgrade(req)) {
    const offered = offeredWebSocketProtocols(req);
    // SPDY tunnelled in WebSocket (kubectl 1.31+) is the apiserver's own translation; anything
    // else goes to kubelet's channel protocols (client-node, the Python client).
    if (!offered.includes(PORT_FORWARD_WS_PROTOCOL)) return portForwardOverChannels(req, socket, head, request);
    const ws = acceptWebSocket(req, socket, head, PORT_FORWARD_WS_PROTOCOL);
    if (!ws) return;
    // SPDY bytes ride in binary messages; the Duplex hides the message boundaries (and keeps backpressure).
    const tunnel = createWebSocketStream(ws);
    tunnel.on('error', () => tunnel.destroy());
    servePortForward(tunnel, Buffer.alloc(0), request.pod);
    return;
  }
  if (isSpdyUpgrade(req)) {
    const protocol = negotiateStreamProtocol(req, [PORT_FORWARD_PROTOCOL]);
    if (!protocol) {
      rejectUpgrade(
        socket,
        403,
        'Forbidden',
        `unable to upgrade: unable to negotiate protocol: client supports ${JSON.stringify(offeredStreamProtocols(req))}, server supports ["${PORT_FORWARD_PROTOCOL}"]`,
      );
      return;
    }
    acceptSpdy(socket, protocol);
    servePortForward(socket, head, request.pod);
    return;
  }
  rejectUpgrade(socket, 400, 'Bad Request', 'port-forward needs an Upgrade to websocket or SPDY/3.1');
}

/**
 * kubelet's WebSocket port-forward: the ports come from the query (required, each > 0), the
 * subprotocol is the first the client offers that kubelet serves (none offered: binary).
 */
function portForwardOverChannels(req: IncomingMessage, socket: Duplex, head: Buffer, request: PortForwardRequest): void {
  if (request.ports.length === 0) return rejectUpgrade(socket, 400, 'Bad Request', 'query parameter "port" is required');
  if (request.ports.includes(0)) return rejectUpgrade(socket, 400, 'Bad Request', 'port "0" must be > 0');
  const offered = offeredWebSocketProtocols(req);
  const protocol = offered.length === 0 ? '' : offered.find((p) => (PORT_FORWARD_CHANNEL_PROTOCOLS as readonly string[]).includes(p));
  if (protocol === undefined) {
    const supported = PORT_FORWARD_CHANNEL_PROTOCOLS.filter((p) => p !== '');
    return rejectUpgrade(socket, 403, 'Forbidden', `requested protocol(s) are not supported: [${offered.join(' ')}]; supports [${supported.join(' ')}]`);
  }
  const ws = acceptWebSocket(req, socket, head, protocol);
  if (ws) servePortForwardChannels(ws, protocol, request.pod, request.ports);
}

interface Pair {
  error?: SpdyStream;
  data?: SpdyStream;
  timer: NodeJS.Timeout;
}

/** Runs one port-forward session over a transport that carries SPDY frames. */
function servePortForward(transport: Duplex, head: Buffer, pod: PodRuntime): SpdySession {
  const pairs = new Map<string, Pair>();
  const connections = new Set<Duplex>();

  const dropPair = (id: string) => {
    const p = pairs.get(id);
    if (p) clearTimeout(p.timer);
    pairs.delete(id);
  };

  const session = new SpdySession(
    transport,
    {
      onStream(stream) {
        const type = stream.header('streamtype');
        // Clients before requestid paired streams by id: data = error + 2.
        const requestId = stream.header('requestid') ?? String(type === 'data' ? stream.id - 2 : stream.id);
        if (type !== 'error' && type !== 'data') {
          stream.destroy();
          return;
        }
        stream.reply();
        stream.on('error', () => stream.destroy());
        let pair = pairs.get(requestId);
        if (!pair) {
          pair = {
            timer: setTimeout(() => {
              const p = pairs.get(requestId);
              dropPair(requestId);
              p?.error?.end(`timed out waiting for the data stream of request ${requestId}`);
              p?.data?.destroy();
            }, PAIR_TIMEOUT_MS),
          };
          pairs.set(requestId, pair);
        }
        if (pair[type]) {
          stream.destroy(); // a second stream of the same kind for one request
          return;
        }
        pair[type] = stream;
        if (pair.error && pair.data) {
          dropPair(requestId);
          forward(pod, pair.error, pair.data, connections);
        }
      },
      onClose() {
        for (const id of [...pairs.keys()]) dropPair(id);
        for (const c of connections) c.destroy();
        connections.clear();
      },
    },
    head,
  );
  return session;
}

function forward(pod: PodRuntime, errorStream: SpdyStream, data: SpdyStream, connections: Set<Duplex>): void {
  errorStream.resume(); // the client half-closes it at once and never writes
  const portText = data.header('port') ?? '';
  const port = Number(portText);
  const fail = (why: string) => {
    errorStream.end(`error forwarding port ${portText} to pod ${pod.namespace}/${pod.name}, uid : ${why}`);
    data.end();
    data.resume();
  };
  if (!/^\d+$/.test(portText) || port < 1 || port > 65535) {
    fail(`invalid port "${portText}"`);
    return;
  }
  const conn = pod.connect(port);
  if (!conn) {
    fail(
      `failed to connect to localhost:${port} inside namespace "${pod.namespace}/${pod.name}", ` +
        `IPv4: dial tcp4 127.0.0.1:${port}: connect: connection refused IPv6 dial tcp6 [::1]:${port}: connect: connection refused`,
    );
    return;
  }
  connections.add(conn);

  let finished = false;
  const finish = () => {
    if (finished) return;
    finished = true;
    connections.delete(conn);
    if (!data.destroyed && !data.writableEnded) data.end();
    if (!errorStream.destroyed && !errorStream.writableEnded) errorStream.end();
  };
  // pipe() keeps backpressure both ways; end follows end (half-close), like kubelet's io.Copy pair.
  data.pipe(conn);
  conn.pipe(data, { end: false });
  conn.on('end', finish);
  conn.on('close', () => {
    finish();
    if (!data.destroyed && data.readableEnded === false) data.resume();
  });
  conn.on('error', (err) => {
    if (!errorStream.destroyed && !errorStream.writableEnded)
      errorStream.write(`error forwarding port ${port} to pod ${pod.namespace}/${pod.name}, uid : ${err.message}`);
    conn.destroy();
  });
  // The client reset the data stream (or the session died): drop the pod side.
  data.on('close', () => {
    if (!conn.destroyed) conn.destroy();
  });
}
