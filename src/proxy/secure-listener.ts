/**
 * The TLS server kubectl connects to, configured once: mutual TLS with the session CA, ALPN h2
 * then http/1.1, and the HTTP/2 and HTTP/1.1 limits a local proxy for kubectl needs. Opening the
 * port is separate from installing the certificates, so a busy port fails before they exist.
 */
import type { IncomingMessage } from 'node:http';
import { createSecureServer, type Http2SecureServer } from 'node:http2';
import type { AddressInfo } from 'node:net';
import type { SessionPki } from '../pki/session-pki.js';
import { ListenError, PortInUseError } from './errors.js';
import { ProxyHttp1Response } from './http1-compat.js';
import { ProxyHttp2Request, ProxyHttp2Response } from './http2-compat.js';

/** The listener with the response classes it makes (both can end a watch cleanly at a stop). */
export type SecureListener = Http2SecureServer<typeof IncomingMessage, typeof ProxyHttp1Response, typeof ProxyHttp2Request, typeof ProxyHttp2Response>;

/**
 * Streams one HTTP/2 session may have open at once. client-go opens a stream per request and per
 * watch, and an informer-heavy controller, k9s or a big `helm` run can hold hundreds of watches;
 * at the limit Go's transport does not fail, it opens another TLS connection, which is the very
 * memory this listener saves. So well above 1,000 watches, yet bounded: each stream costs a relay
 * stream upstream.
 */
const MAX_STREAMS_PER_SESSION = 4_096;
/**
 * Node's budget for one HTTP/2 session (MB; default 10). It counts open streams and response bytes
 * queued for the client; once over it Node refuses new streams (ENHANCE_YOUR_CALM) and, after 100
 * refusals, destroys the session with every watch on it. One session now carries what used to be
 * a connection per watch, each with a budget of its own, and with backpressure each busy stream
 * queues a few tens of KB (a write's high-water mark plus a chunk from the relay): 10 MB is gone
 * after a few hundred watches a slow client is behind on. A limit, not an allocation.
 */
const MAX_SESSION_MEMORY_MB = 256;

function contextOptions(pki: SessionPki) {
  return { cert: pki.server.cert, key: pki.server.key, ca: [pki.caCert], minVersion: 'TLSv1.2' as const };
}

/** The server, with the certificates when they are already known (else see `installPki`). */
export function createSecureListener(opts: { pki: SessionPki | undefined; idleConnectionTimeoutMs: number }): SecureListener {
  // With allowHTTP1, Node offers ALPN h2 then http/1.1 itself; a client that offers no ALPN gets
  // HTTP/1.1.
  const server = createSecureServer({
    ...(opts.pki ? contextOptions(opts.pki) : { minVersion: 'TLSv1.2' }),
    requestCert: true,
    rejectUnauthorized: true,
    allowHTTP1: true,
    // As https.createServer does: a watch event must not wait for an ACK (Nagle). HTTP/2 sets it itself.
    noDelay: true,
    Http1ServerResponse: ProxyHttp1Response,
    Http2ServerRequest: ProxyHttp2Request,
    Http2ServerResponse: ProxyHttp2Response,
    settings: { maxConcurrentStreams: MAX_STREAMS_PER_SESSION },
    maxSessionMemory: MAX_SESSION_MEMORY_MB,
  });
  // HTTP/1.1 connections are served by Node's http.Server code, configured by these properties
  // (not by createSecureServer's options); with allowHTTP1 Node would cut a request after 5 minutes.
  Object.assign(server, {
    // Clients are local and authenticated by certificate; a long upload must not be cut.
    requestTimeout: 0,
    keepAliveTimeout: opts.idleConnectionTimeoutMs,
    requireHostHeader: true,
  });
  return server;
}

/** Installs certificates made after the port opened; until then TLS handshakes fail. */
export function installPki(server: SecureListener, pki: SessionPki): void {
  server.setSecureContext(contextOptions(pki));
}

/** Opens the port; a busy one is a PortInUseError, never a silent other port. Resolves with the port. */
export async function listenOn(server: SecureListener, host: string, port: number): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      if (err.code === 'EADDRINUSE') reject(new PortInUseError(port, { cause: err }));
      else reject(new ListenError(host, port, err.code ?? err.message, { cause: err }));
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  // Once listening, the only server errors are failed accepts (EMFILE): transient, not fatal.
  server.on('error', () => undefined);
  return (server.address() as AddressInfo).port;
}
