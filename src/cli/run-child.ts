/** Run mode's child: the user's command with KUBECONFIG pointing at the proxy. */
import { spawn } from 'node:child_process';
import type { CliIo } from './io.js';
import { signalExitCode, type SignalWatch, type StopSignal } from './signals.js';

/** 127 as a shell reports a command it could not start. */
export const COMMAND_NOT_STARTED = 127;

/**
 * Whether a stop signal arcproxy got goes on to the command. On Windows, Ctrl+C reaches every
 * process on the console already, and ChildProcess.kill() ends a process abruptly whatever the
 * signal: forwarding SIGINT there would cut the command's own clean exit short.
 */
export function forwardsSignal(signal: StopSignal, platform: NodeJS.Platform = process.platform): boolean {
  return platform !== 'win32' || signal !== 'SIGINT';
}

/** Why the command could not start; on Windows, how to start a .cmd or .bat (spawn starts only .exe and .com there). */
export function notStartedMessage(cmd: string, err: Error, platform: NodeJS.Platform = process.platform): string {
  const hint = platform === 'win32' ? ' (a .cmd or .bat script runs through cmd: `-- cmd /c NAME ...`)' : '';
  return `arcproxy: cannot run ${cmd}: ${err.message}${hint}\n`;
}

/**
 * Runs `command` with stdio inherited (its stdout stays its own), forwarding every stop signal
 * to it; resolves with its exit code, 128 + N when signal N ended it.
 */
export function runChild(command: string[], kubeconfig: string, io: CliIo, signals: SignalWatch): Promise<number> {
  return new Promise((resolve) => {
    const [cmd, ...args] = command;
    let stopForwarding = (): void => undefined;
    let settled = false;
    const done = (code: number) => {
      if (settled) return;
      settled = true;
      stopForwarding();
      resolve(code);
    };
    const notStarted = (err: Error) => {
      io.stderr.write(notStartedMessage(cmd!, err));
      done(COMMAND_NOT_STARTED);
    };
    let child: ReturnType<typeof spawn>;
    try {
      child = spawn(cmd!, args, { stdio: 'inherit', env: { ...io.env, KUBECONFIG: kubeconfig } });
    } catch (err) {
      // Thrown, not emitted: an argument Node refuses (a NUL byte; on Windows, a .cmd without a shell).
      notStarted(err instanceof Error ? err : new Error(String(err)));
      return;
    }
    stopForwarding = signals.onSignal((sig) => {
      if (forwardsSignal(sig)) child.kill(sig);
    });
    child.on('error', notStarted);
    child.on('exit', (code, signal) => done(code ?? (signal ? signalExitCode(signal) : 1)));
  });
}
