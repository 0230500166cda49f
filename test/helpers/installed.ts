/**
 * What every packaged form of arcproxy (the npm tarball installed, the single executable) must do
 * from an empty directory: `--help`, `emulator --write-env F` until ready, and the demo's main
 * job — `arcproxy -n demo -g demo-rg -- kubectl get pods` in a shell that sourced F.
 */
import { execFile } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { startEmulatorProcess, type Launcher } from './emulator-process.js';
import { availableKubectls } from './kubectl.js';

export interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `file args` to completion; never rejects on a non-zero exit. */
export function run(file: string, args: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs?: number }): Promise<Outcome> {
  return new Promise((resolve) => {
    execFile(
      file,
      args,
      { cwd: opts.cwd, env: opts.env ?? process.env, timeout: opts.timeoutMs ?? 60_000, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** `arcproxy --help` from `dir`. */
export function help(launcher: Launcher, dir: string): Promise<Outcome> {
  return run(launcher.command, ['--help'], { cwd: dir, env: { PATH: process.env.PATH, HOME: dir } });
}

/** Starts the emulator through `launcher` in `dir`, runs the demo's main job there (with `extraArgs`), stops the emulator. */
export async function emulatorAndDemo(launcher: Launcher, dir: string, extraArgs: string[] = []): Promise<{ emulatorOutput: string; demo: Outcome }> {
  const kubectl = availableKubectls().find((k) => k.label === 'newest' || k.label === 'env');
  if (!kubectl) throw new Error('no kubectl: run scripts/install-kubectl.sh');
  const state = join(dir, 'state');
  const home = join(dir, 'home');
  await mkdir(home, { recursive: true });
  const envFile = join(dir, 'arc.env');
  const emulator = await startEmulatorProcess(['--write-env', envFile, '--state-dir', state], { ...launcher, cwd: dir });
  try {
    // As the README has it: source the file, then run mode with the kubectl of the machine.
    const script = `. "$1" && arcproxy=$2 kubectl=$3 && shift 3 && exec "$arcproxy" -n demo -g demo-rg "$@" -- "$kubectl" get pods`;
    const demo = await run('sh', ['-c', script, 'sh', envFile, launcher.command, kubectl.path, ...extraArgs], {
      cwd: dir,
      env: { PATH: process.env.PATH, HOME: home },
    });
    return { emulatorOutput: emulator.output(), demo };
  } finally {
    emulator.proc.kill('SIGTERM');
    await emulator.exited;
  }
}
