/**
 * Upgrades (exec, attach, port-forward over WebSocket or SPDY/3.1): after the Entra check the
 * request head is rewritten and sent on a fresh TLS connection to the apiserver, then bytes are
 * relayed both ways unchanged. The agent never speaks WebSocket or SPDY itself, so subprotocols
 * like "SPDY/3.1+portforward.k8s.io" pass whatever they are.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Authenticator } from './entra-auth.js';
import { serializeRequestHead, upstreamRequestHeaders } from './headers.js';
import { writeRawStatus } from './status.js';
import type { Upstream } from './upstream.js';

export function createUpgradeForwarder(upstream: Upstream, authenticate: Authenticator) {
  return (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    // Client bytes that arrive while the token is checked wait in the socket's buffer.
    socket.pause();
    authenticate(req.headers).then(
      (auth) => {
        if (auth.mode === 'rejected') {
          writeRawStatus(socket, auth.status);
          return;
        }
        const headers = upstreamRequestHeaders(req.rawHeaders, auth, upstream.token, upstream.host, true);
        relay(socket, head, upstream, serializeRequestHead(req.method ?? 'GET', upstream.path(req.url), headers));
      },
      () => writeRawStatus(socket, { code: 401, reason: 'Unauthorized', message: 'Unauthorized: the token could not be checked.' }),
    );
  };
}

function relay(client: Duplex, head: Buffer, upstream: Upstream, requestHead: string): void {
  if (client.destroyed) return;
  const server = upstream.connect();
  let connected = false;

  server.once('secureConnect', () => {
    connected = true;
    server.write(requestHead);
    if (head.length > 0) server.write(head);
    // From here on both directions are plain byte pipes with backpressure.
    client.pipe(server);
    server.pipe(client);
    client.resume();
  });

  server.on('error', (err: NodeJS.ErrnoException) => {
    if (!connected) {
      writeRawStatus(client, {
        code: 502,
        reason: 'ServiceUnavailable',
        message: `The cluster agent could not reach the Kubernetes apiserver (${err.code ?? err.message}).`,
      });
      return;
    }
    client.destroy();
  });
  client.on('error', () => server.destroy());
  // Either side going away ends the other: no half-open tunnels left behind.
  // A clean end travels through the pipe (client.end()); only a broken upstream cuts the client.
  server.on('close', (hadError: boolean) => {
    if (connected && hadError) client.destroy();
  });
  client.on('close', () => server.destroy());
}
