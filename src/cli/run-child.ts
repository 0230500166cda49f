/** Run mode's child: the user's command with KUBECONFIG pointing at the proxy. */
import { spawn } from 'node:child_process';
import type { CliIo } from './io.js';
import { signalExitCode, type SignalWatch } from './signals.js';

/** 127 as a shell reports a command it could not start. */
export const COMMAND_NOT_STARTED = 127;

/**
 * Runs `command` with stdio inherited (its stdout stays its own), forwarding every stop signal
 * to it; resolves with its exit code, 128 + N when signal N ended it.
 */
export function runChild(command: string[], kubeconfig: string, io: CliIo, signals: SignalWatch): Promise<number> {
  return new Promise((resolve) => {
    const [cmd, ...args] = command;
    const child = spawn(cmd!, args, { stdio: 'inherit', env: { ...io.env, KUBECONFIG: kubeconfig } });
    const stopForwarding = signals.onSignal((sig) => child.kill(sig));
    let settled = false;
    const done = (code: number) => {
      if (settled) return;
      settled = true;
      stopForwarding();
      resolve(code);
    };
    child.on('error', (err) => {
      io.stderr.write(`arcproxy: cannot run ${cmd}: ${err.message}\n`);
      done(COMMAND_NOT_STARTED);
    });
    child.on('exit', (code, signal) => done(code ?? (signal ? signalExitCode(signal) : 1)));
  });
}
