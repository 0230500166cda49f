/** `arcproxy emulator` as a separate process, started through the launcher as a user runs it. */
import { spawn, type ChildProcess } from 'node:child_process';
import { BIN, assertBuilt } from './arcproxy.js';

/** The variables of an env file written by `arcproxy emulator --write-env`. */
export function parseEnvFile(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^export ([A-Z_]+)='(.*)'$/.exec(line);
    if (m) env[m[1]!] = m[2]!.replace(/'\\''/g, "'");
  }
  return env;
}

export interface RunningEmulator {
  proc: ChildProcess;
  /** stdout and stderr together. */
  output: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
}

/** How arcproxy is started: the clone's launcher (default), an installed bin or the single executable, from `cwd`. */
export interface Launcher {
  command: string;
  cwd?: string;
}

/** Starts the emulator through the launcher itself (its shebang) and waits for "emulator ready". */
export function startEmulatorProcess(args: string[], launcher: Launcher = { command: BIN }): Promise<RunningEmulator> {
  if (launcher.command === BIN) assertBuilt();
  const proc = spawn(launcher.command, ['emulator', ...args], { cwd: launcher.cwd, env: { PATH: process.env.PATH }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => {
    out += d;
    err += d;
  });
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`emulator not ready:\n${out}`)), 20_000);
    proc.stdout!.on('data', () => {
      if (out.includes('emulator ready')) {
        clearTimeout(timer);
        resolve({ proc, output: () => out, stderr: () => err, exited });
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`emulator exited ${code}:\n${out}`));
    });
  });
}
