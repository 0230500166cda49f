/**
 * Kubernetes `Status` answers the proxy gives on its own behalf. kubectl prints `message`, so
 * each one says what happened and what to check. A broken tunnel is a 503, never a 404: clients
 * treat 404 as "the resource is gone" and drop their watches. Bodies and bytes come from
 * src/net/k8s-status.ts, shared with the emulator.
 */
import type { ServerResponse } from 'node:http';
import type { Http2ServerResponse } from 'node:http2';
import type { Duplex } from 'node:stream';
import { errorCodeOf, redactSecrets } from '../errors/index.js';
import { sendStatusResponse, writeRawStatusResponse } from '../net/k8s-status.js';

export { statusBody } from '../net/k8s-status.js';

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
  return sendStatusResponse(res, { code, reason, message }, { close });
}

/** A whole HTTP/1.1 response written to a socket taken over by the 'upgrade' event, then closed; returns its length. */
export function writeRawStatus(socket: Duplex, code: number, reason: string, message: string): number {
  return writeRawStatusResponse(socket, { code, reason, message });
}
