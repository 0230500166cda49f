/**
 * Kubernetes `Status` answers the proxy gives on its own behalf. kubectl prints `message`, so
 * each one says what happened and what to check. A broken tunnel is a 503, never a 404: clients
 * treat 404 as "the resource is gone" and drop their watches.
 */
import type { ServerResponse } from 'node:http';
import { Http2ServerResponse } from 'node:http2';
import type { Duplex } from 'node:stream';

export function statusBody(code: number, reason: string, message: string): string {
  return JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code });
}

/** Strips anything token-shaped from text that is about to reach a client or a log. */
export function redactSecrets(text: string): string {
  return text
    .replace(/SharedAccessSignature\s+\S+/gi, 'SharedAccessSignature [redacted]')
    .replace(/Bearer\s+\S+/gi, 'Bearer [redacted]')
    .replace(/\b(sig|sb-hc-token|token)=[^&\s]+/gi, '$1=[redacted]');
}

function errorCode(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code !== '' ? code : 'ARCPROXY_TUNNEL_FAILED';
}

function errorMessage(err: unknown): string {
  return redactSecrets(err instanceof Error ? err.message : String(err));
}

/** The message of a 503 when the tunnel could not carry a request. */
export function tunnelFailureMessage(err: unknown): string {
  const code = errorCode(err);
  if (code === 'ARCPROXY_RELAY_NO_LISTENER') {
    return (
      "arcproxy: the cluster's agent is not connected to Azure Relay (no listener online). " +
      "Check that the cluster's Azure Arc agents are running (kubectl -n azure-arc get pods on the cluster, " +
      'or `az connectedk8s show`), then retry.'
    );
  }
  return `arcproxy: the tunnel to the cluster failed (${code}): ${errorMessage(err)}`;
}

/** The message of a 503 when no Entra token could be had for the request. */
export function tokenFailureMessage(err: unknown): string {
  return (
    `arcproxy: could not get a Microsoft Entra token for the cluster (${errorCode(err)}): ${errorMessage(err)}. ` +
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
