/**
 * Kubernetes `Status` answers the agent gives itself (authentication refusals, an unreachable
 * apiserver). kubectl prints `message`, so it says what was wrong; it never contains a token.
 */
import { STATUS_CODES, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';

export type StatusReason = 'Unauthorized' | 'Forbidden' | 'ServiceUnavailable';

export interface AgentStatus {
  code: number;
  reason: StatusReason;
  message: string;
}

export function statusBody(status: AgentStatus): string {
  return JSON.stringify({
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message: status.message,
    reason: status.reason,
    code: status.code,
  });
}

/** Answers a normal request; `close` ends the keep-alive connection (used when a body may be left unread). */
export function sendStatus(res: ServerResponse, status: AgentStatus, close = false): void {
  const body = statusBody(status);
  const headers: Record<string, string | number> = {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
  };
  if (close) headers.connection = 'close';
  res.writeHead(status.code, headers);
  res.end(body);
}

/** Answers an upgrade request on its raw socket (no ServerResponse exists for upgrades), then ends it. */
export function writeRawStatus(socket: Duplex, status: AgentStatus): void {
  if (socket.destroyed || !socket.writable) {
    socket.destroy();
    return;
  }
  const body = statusBody(status);
  socket.end(
    `HTTP/1.1 ${status.code} ${STATUS_CODES[status.code] ?? 'Error'}\r\n` +
      'Content-Type: application/json\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      'Connection: close\r\n\r\n' +
      body,
  );
  // Discard whatever the client still sends so its end can arrive and the stream can close.
  socket.resume();
}
