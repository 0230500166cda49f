/**
 * exec and port-forward for the emulated apiserver: the REST core authenticates, authorizes and
 * finds the pod, then hands the upgrade's socket to these handlers (see ../types.ts).
 */
import type { StreamingHandlers } from '../types.js';
import type { CommandResult } from './commands.js';
import { handleExec } from './exec.js';
import { handlePortForward } from './portforward.js';

export interface StreamingOptions {
  /** An exec'd command has ended, however it ended (client gone included); for tests. */
  onCommandEnd?: (command: readonly string[], result: CommandResult) => void;
}

export function createStreamingHandlers(opts: StreamingOptions = {}): StreamingHandlers {
  return {
    exec: (req, socket, head, exec) => handleExec(req, socket, head, exec, opts.onCommandEnd),
    portForward: (req, socket, head, request) => handlePortForward(req, socket, head, request),
  };
}

export { runCommand, splitShellWords } from './commands.js';
