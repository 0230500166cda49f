/**
 * metav1.Status objects written on the exec error channel (remotecommand v4/v5), shaped like
 * kubelet's: Success, NonZeroExitCode with an ExitCode cause (kubectl exits with that code), or
 * InternalError when the runtime could not start the command.
 */
export interface ExecStatus {
  metadata: Record<string, never>;
  status: 'Success' | 'Failure';
  message?: string;
  reason?: string;
  details?: { causes: { reason?: string; message: string }[] };
  code?: number;
}

export function successStatus(): ExecStatus {
  return { metadata: {}, status: 'Success' };
}

export function exitCodeStatus(command: readonly string[], code: number): ExecStatus {
  return {
    metadata: {},
    status: 'Failure',
    message: `command terminated with non-zero exit code: error executing command [${command.join(' ')}], exit code ${code}`,
    reason: 'NonZeroExitCode',
    details: { causes: [{ reason: 'ExitCode', message: String(code) }] },
  };
}

export function internalErrorStatus(cause: string): ExecStatus {
  const reason = `error executing command in container: ${cause}`;
  return {
    metadata: {},
    status: 'Failure',
    message: `Internal error occurred: ${reason}`,
    reason: 'InternalError',
    details: { causes: [{ message: reason }] },
    code: 500,
  };
}
