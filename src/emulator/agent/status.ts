/**
 * Kubernetes `Status` answers the agent gives itself (authentication refusals, an unreachable
 * apiserver). kubectl prints `message`, so it says what was wrong; it never contains a token.
 * Bodies and bytes come from src/net/k8s-status.ts.
 */
import type { ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { sendStatusResponse, writeRawStatusResponse, type FailureStatus } from '../../net/k8s-status.js';

export type StatusReason = 'Unauthorized' | 'Forbidden' | 'ServiceUnavailable';

export interface AgentStatus extends FailureStatus {
  reason: StatusReason;
}

/** Answers a normal request; `close` ends the keep-alive connection (used when a body may be left unread). */
export function sendStatus(res: ServerResponse, status: AgentStatus, close = false): void {
  sendStatusResponse(res, status, { close, lowerCaseNames: true });
}

/** Answers an upgrade request on its raw socket (no ServerResponse exists for upgrades), then ends it. */
export function writeRawStatus(socket: Duplex, status: AgentStatus): void {
  writeRawStatusResponse(socket, status);
  // Discard whatever the client still sends so its end can arrive and the stream can close.
  if (!socket.destroyed) socket.resume();
}
