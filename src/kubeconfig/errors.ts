/** The one error type the kubeconfig module throws; its `code` is stable for scripts and JSON output. */
import { ArcproxyError } from '../errors/index.js';

export type KubeconfigErrorCode =
  | 'ARCPROXY_KUBECONFIG_MALFORMED'
  | 'ARCPROXY_KUBECONFIG_LOCKED'
  | 'ARCPROXY_KUBECONFIG_IO'
  | 'ARCPROXY_KUBECONFIG_INVALID_ENTRY'
  | 'ARCPROXY_KUBECONFIG_NAME_TAKEN';

export class KubeconfigError extends ArcproxyError {
  override readonly code: KubeconfigErrorCode;
  /** The kubeconfig file concerned. */
  readonly file: string;
  /** 1-based position of a MALFORMED problem, when known. */
  readonly line: number | undefined;
  readonly column: number | undefined;

  constructor(code: KubeconfigErrorCode, message: string, details: { file: string; line?: number; column?: number; cause?: unknown }) {
    // The catalogue: a malformed, locked or unwritable kubeconfig is the user's file to fix (exit
    // 2), not an arcproxy bug; an invalid entry can only come from arcproxy itself (exit 70).
    super(code, message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'KubeconfigError';
    this.code = code;
    this.file = details.file;
    this.line = details.line;
    this.column = details.column;
  }
}

/** Wraps a failed file-system call; the message carries the errno code and path, never file contents. */
export function ioError(file: string, action: string, cause: unknown): KubeconfigError {
  const errno = (cause as NodeJS.ErrnoException | undefined)?.code;
  const why = errno ? ` (${errno})` : '';
  return new KubeconfigError(
    'ARCPROXY_KUBECONFIG_IO',
    `Could not ${action} ${file}${why}. Check that the path exists and that you can write to it, or pass --file to use another kubeconfig.`,
    {
      file,
      cause,
    },
  );
}
