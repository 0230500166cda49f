/**
 * Typed errors with stable codes. Every error a user can see is an ArcproxyError: it has a
 * stable `code` (for scripts and JSON output), a message that says what to do next, and an
 * exit code from the documented table (docs/exit-codes.md).
 */

export const ExitCode = {
  ok: 0,
  /** Bad command-line input, malformed kubeconfig or cloud profile. */
  badInput: 2,
  /** Signing in to Microsoft Entra ID failed or no credential was available. */
  authFailed: 3,
  /** Subscription, resource group or connected cluster not found. */
  notFound: 4,
  /** The signed-in principal lacks a role (ARM 403). */
  forbidden: 5,
  /** The connected cluster's agent is offline or expired. */
  clusterOffline: 6,
  /** The local port is already in use. */
  portInUse: 7,
  /** Azure Resource Manager or Azure Relay failed or could not be reached. */
  serviceUnavailable: 8,
  /** A bug in arcproxy. */
  internal: 70,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

export class ArcproxyError extends Error {
  readonly code: string;
  readonly exitCode: ExitCodeValue;

  constructor(code: string, message: string, exitCode: ExitCodeValue, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ArcproxyError';
    this.code = code;
    this.exitCode = exitCode;
  }
}

export class UsageError extends ArcproxyError {
  constructor(message: string, code = 'ARCPROXY_BAD_INPUT', options?: { cause?: unknown }) {
    super(code, message, ExitCode.badInput, options);
    this.name = 'UsageError';
  }
}

export function isArcproxyError(err: unknown): err is ArcproxyError {
  return err instanceof ArcproxyError;
}

/** Returns a message for an unknown thrown value without leaking a stack to users. */
export function describeError(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
