/** The process edges the CLI touches, injectable so tests drive real code without patching globals. */
import type { Writable } from 'node:stream';
import { homedir } from 'node:os';

export interface CliIo {
  stdout: Writable;
  stderr: Writable;
  env: NodeJS.ProcessEnv;
  homeDir: string;
  stdinIsTty: boolean;
  stderrIsTty: boolean;
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
