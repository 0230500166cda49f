/**
 * exec and port-forward for the emulated apiserver: the REST core authenticates, authorizes and
 * finds the pod, then hands the upgrade's socket to these handlers (see ../types.ts).
 */
import type { StreamingHandlers } from '../types.js';
import { handleExec } from './exec.js';
import { handlePortForward } from './portforward.js';

export function createStreamingHandlers(): StreamingHandlers {
  return {
    exec: (req, socket, head, exec) => handleExec(req, socket, head, exec),
    portForward: (req, socket, head, request) => handlePortForward(req, socket, head, request),
  };
}

export { runCommand, splitShellWords } from './commands.js';
