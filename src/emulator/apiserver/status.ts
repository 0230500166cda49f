/** Kubernetes `Status` bodies, shaped as the real apiserver sends them. */
import type { ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
}

export function statusObject(code: number, reason: string, message: string, details?: StatusDetails): Record<string, unknown> {
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

export function sendStatus(res: ServerResponse, code: number, reason: string, message: string, details?: StatusDetails): void {
  const body = JSON.stringify(statusObject(code, reason, message, details));
  res.writeHead(code, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'cache-control': 'no-cache, private' });
  res.end(body);
}

const REASON_PHRASES: Record<number, string> = { 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 501: 'Not Implemented' };

/** For upgrade requests, where there is no ServerResponse: a raw HTTP response, then close. */
export function writeRawStatus(socket: Duplex, code: number, reason: string, message: string, details?: StatusDetails): void {
  const body = JSON.stringify(statusObject(code, reason, message, details));
  socket.end(
    `HTTP/1.1 ${code} ${REASON_PHRASES[code] ?? 'Error'}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}
