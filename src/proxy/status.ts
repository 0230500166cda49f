/**
 * Kubernetes `Status` answers the proxy gives on its own behalf. kubectl prints `message`, so
 * each one says what happened and what to check. A broken tunnel is a 503, never a 404: clients
 * treat 404 as "the resource is gone" and drop their watches.
 */
import type { ServerResponse } from 'node:http';
import { Http2ServerResponse } from 'node:http2';
import type { Duplex } from 'node:stream';
import { errorCodeOf, redactSecrets } from '../errors/index.js';

export function statusBody(code: number, reason: string, message: string): string {
  return JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code });
}

/** The message of a 503 when no Entra token could be had for the request. */
export function tokenFailureMessage(err: unknown): string {
  return (
    `arcproxy: could not get a Microsoft Entra token for the cluster (${errorCodeOf(err, 'ARCPROXY_AUTH_FAILED')}): ` +
    `${redactSecrets(err instanceof Error ? err.message : String(err))}. ` +
    'Sign in again (for example `az login`), then retry.'
  );
}

/**
 * Answers with a Status; returns the body length. `close` asks an HTTP/1.1 client not to reuse the
 * connection; HTTP/2 has no such header (Node would drop it with a warning): there the listener
 * closes the session with GOAWAY instead.
 */
export function sendStatus(res: ServerResponse | Http2ServerResponse, code: number, reason: string, message: string, close = false): number {
  const body = statusBody(code, reason, message);
  const headers: Record<string, string | number> = {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(body),
  };
  if (close && !(res instanceof Http2ServerResponse)) headers['Connection'] = 'close';
  res.writeHead(code, headers);
  res.end(body);
  return Buffer.byteLength(body);
}

const REASON_PHRASES: Record<number, string> = { 404: 'Not Found', 503: 'Service Unavailable' };

/** A whole HTTP/1.1 response written to a socket taken over by the 'upgrade' event, then closed; returns its length. */
export function writeRawStatus(socket: Duplex, code: number, reason: string, message: string): number {
  const body = statusBody(code, reason, message);
  const head =
    `HTTP/1.1 ${code} ${REASON_PHRASES[code] ?? reason}\r\n` +
    'Content-Type: application/json\r\n' +
    `Content-Length: ${Buffer.byteLength(body)}\r\n` +
    'Connection: close\r\n\r\n';
  const bytes = head + body;
  if (socket.writable) socket.end(bytes);
  else socket.destroy();
  return Buffer.byteLength(bytes);
}
