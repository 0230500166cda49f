/**
 * Kubernetes `Status` failure answers (metav1.Status, `kind: Status`), shaped as the apiserver
 * writes them: one body builder and two writers, shared by arcproxy's proxy (its own 404 and 503
 * answers) and by the emulator's agent and apiserver. kubectl prints `message`; clients branch on
 * `reason` and `code`, and on `details` for a named object.
 */
import { STATUS_CODES, type ServerResponse } from 'node:http';
import { Http2ServerResponse } from 'node:http2';
import type { Duplex } from 'node:stream';

/** metav1.StatusDetails as the apiserver fills it for a named object (the emulator writes `{}` for an unknown path). */
export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
}

/** A failure: the HTTP status code, the machine-readable `reason` (NotFound, ServiceUnavailable…) and the message. */
export interface FailureStatus {
  code: number;
  reason: string;
  message: string;
  details?: StatusDetails | undefined;
}

export interface StatusObject {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Failure';
  message: string;
  reason: string;
  details?: StatusDetails;
  code: number;
}

/** The Status object; keys in the apiserver's order (`details`, when given, before `code`). */
export function statusObject(code: number, reason: string, message: string, details?: StatusDetails): StatusObject {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    reason,
    ...(details ? { details } : {}),
    code,
  };
}

/** The Status object as JSON, ready to be a response body. */
export function statusBody(code: number, reason: string, message: string, details?: StatusDetails): string {
  return JSON.stringify(statusObject(code, reason, message, details));
}

export interface SendStatusOptions {
  /**
   * Asks an HTTP/1.1 client not to reuse the connection (`Connection: close`), for when a request
   * body may be left unread. HTTP/2 has no such header (Node would drop it with a warning), so an
   * Http2ServerResponse never gets it: there the listener ends the session with GOAWAY instead.
   */
  close?: boolean;
  /** More headers, written after Content-Type and Content-Length (the apiserver's Cache-Control). */
  headers?: Readonly<Record<string, string>>;
  /**
   * Writes the header names in lower case (`content-type`), as the emulator always has, instead of
   * `Content-Type`. Names are case-insensitive; this only keeps the emulator's bytes as they were.
   */
  lowerCaseNames?: boolean;
}

/** Answers a request with a Status through node:http or the HTTP/2 compatibility API; returns the body length. */
export function sendStatusResponse(res: ServerResponse | Http2ServerResponse, status: FailureStatus, options: SendStatusOptions = {}): number {
  const body = statusBody(status.code, status.reason, status.message, status.details);
  const length = Buffer.byteLength(body);
  const lower = options.lowerCaseNames === true;
  const headers: Record<string, string | number> = {
    [lower ? 'content-type' : 'Content-Type']: 'application/json',
    [lower ? 'content-length' : 'Content-Length']: length,
    ...options.headers,
  };
  if (options.close && !(res instanceof Http2ServerResponse)) headers[lower ? 'connection' : 'Connection'] = 'close';
  res.writeHead(status.code, headers);
  res.end(body);
  return length;
}

/** The bytes of a whole HTTP/1.1 Status response that closes its connection (reason phrase from node:http). */
export function rawStatusResponse(status: FailureStatus): string {
  const body = statusBody(status.code, status.reason, status.message, status.details);
  return (
    `HTTP/1.1 ${status.code} ${STATUS_CODES[status.code] ?? 'Error'}\r\n` +
    'Content-Type: application/json\r\n' +
    `Content-Length: ${Buffer.byteLength(body)}\r\n` +
    'Connection: close\r\n\r\n' +
    body
  );
}

/**
 * Answers on a socket taken over by an 'upgrade' event, where no ServerResponse exists: writes the
 * whole response and ends the socket (destroys it when it can no longer be written); returns the
 * response length.
 */
export function writeRawStatusResponse(socket: Duplex, status: FailureStatus): number {
  const bytes = rawStatusResponse(status);
  if (socket.writable) socket.end(bytes);
  else socket.destroy();
  return Buffer.byteLength(bytes);
}
