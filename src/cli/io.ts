/** The process edges the CLI touches, injectable so tests drive real code without patching globals. */
import type { Writable } from 'node:stream';
import { homedir } from 'node:os';
import type { SessionIo } from '../session/ports.js';

export interface CliIo extends SessionIo {
  stdout: Writable;
  stderr: Writable;
  /** Where SIGINT/SIGTERM/SIGHUP arrive (the process, in production). */
  signals: NodeJS.EventEmitter;
}

export function processIo(): CliIo {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    homeDir: homedir(),
    stdinIsTty: Boolean(process.stdin.isTTY),
    stderrIsTty: Boolean(process.stderr.isTTY),
    signals: process,
  };
}
