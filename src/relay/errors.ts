/**
 * Errors of the Azure Relay client side: one class, a stable code per failure kind. Messages say
 * what happened and what to check; they never contain a token (descriptions from the service
 * pass through redactSas).
 */
import { ArcproxyError } from '../errors/index.js';
import { redactSas } from './sas.js';

export type RelayErrorCode =
  /** 404 on connect: no listener (the cluster's agent) is online, or the hybrid connection is gone. */
  | 'ARCPROXY_RELAY_NO_LISTENER'
  /** Still no listener on a new credential's hybrid connection when the wait for the agent to pick it up ran out. */
  | 'ARCPROXY_RELAY_LISTENER_TIMEOUT'
  /** 401: the SAS is missing, malformed or its signature is wrong. */
  | 'ARCPROXY_RELAY_UNAUTHORIZED'
  /** 401 saying the SAS has expired: fetch a new relay credential. */
  | 'ARCPROXY_RELAY_TOKEN_EXPIRED'
  /** 403: the SAS is valid but not for this hybrid connection or this action. */
  | 'ARCPROXY_RELAY_FORBIDDEN'
  /** Any other refusal, e.g. the listener rejected the connection with its own status. */
  | 'ARCPROXY_RELAY_REJECTED'
  /** The relay host could not be reached (DNS, TCP, TLS). */
  | 'ARCPROXY_RELAY_UNREACHABLE'
  /** The relay did not complete the handshake in time. */
  | 'ARCPROXY_RELAY_TIMEOUT'
  /** An established relay connection closed abnormally. */
  | 'ARCPROXY_RELAY_CLOSED'
  /** A listener's hybrid connection does not exist (404 on listen). Final for a listener. */
  | 'ARCPROXY_RELAY_NOT_FOUND';

export interface RelayErrorDetails {
  httpStatus?: number;
  closeCode?: number;
  cause?: unknown;
}

export class RelayError extends ArcproxyError {
  override readonly code: RelayErrorCode;
  readonly httpStatus?: number;
  readonly closeCode?: number;

  constructor(code: RelayErrorCode, message: string, details: RelayErrorDetails = {}) {
    super(code, redactSas(message), details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'RelayError';
    this.code = code;
    if (details.httpStatus !== undefined) this.httpStatus = details.httpStatus;
    if (details.closeCode !== undefined) this.closeCode = details.closeCode;
  }
}

/**
 * Close codes that end a relay connection cleanly: normal closure, or no status sent. Not 1001: in
 * the Relay protocol it means the hybrid connection was deleted or disabled.
 */
export function isCleanCloseCode(code: number): boolean {
  return code === 1000 || code === 1005;
}
