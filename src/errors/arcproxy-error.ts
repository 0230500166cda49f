/**
 * Typed errors with stable codes. Every error a user can see is an ArcproxyError: a `code` from
 * the catalogue (for scripts and JSON output), a message that says what to do next, and the exit
 * code the catalogue gives that code (docs/exit-codes.md). Modules subclass it to add details
 * (an HTTP status, a file); they never make a coded Error of their own.
 */
import { exitCodeFor, type ErrorCode, type ExitCodeValue } from './catalogue.js';

export class ArcproxyError extends Error {
  readonly code: ErrorCode;
  readonly exitCode: ExitCodeValue;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ArcproxyError';
    this.code = code;
    this.exitCode = exitCodeFor(code);
  }
}

/** Bad command-line input, a bad file the user gave, a bad seed. */
export class UsageError extends ArcproxyError {
  constructor(message: string, code: ErrorCode = 'ARCPROXY_BAD_INPUT', options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'UsageError';
  }
}

/**
 * The one way to read a code off something thrown: an ArcproxyError's own, else `fallback`.
 * Anything else (a Node errno error, a string) has no code of ours.
 */
export function errorCodeOf(err: unknown, fallback: ErrorCode = 'ARCPROXY_INTERNAL'): ErrorCode {
  return err instanceof ArcproxyError ? err.code : fallback;
}
