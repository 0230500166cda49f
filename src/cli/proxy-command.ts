/**
 * `arcproxy -n NAME -g RG [...]`: start a session, publish it in a kubeconfig, then either wait
 * for Ctrl+C (foreground mode) or run a command against it and exit with its code (run mode).
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CliIo } from './io.js';
import { HumanReporter, JsonReporter, type Reporter } from './reporter.js';
import { startSession, type SessionOptions } from '../session/start.js';
import { defaultKubeconfigPath, mergeKubeconfig, removeKubeconfigEntries, renderKubeconfig } from '../kubeconfig/index.js';
import { ExitCode } from '../errors.js';

export interface ProxyCommandOptions extends SessionOptions {
  file?: string;
  keepKubeconfig?: boolean;
  /** Run mode: the command after `--`. */
  command?: string[];
  output?: 'text' | 'json';
  /** Written (JSON) once the proxy is ready; removed when it stops. */
  readyFile?: string;
}

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

function waitForSignal(io: CliIo): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const handlers = SIGNALS.map((sig) => {
      const h = () => {
        for (const [s, fn] of handlers) io.signals.off(s, fn);
        resolve(sig);
      };
      io.signals.on(sig, h);
      return [sig, h] as const;
    });
  });
}

export async function runProxyCommand(opts: ProxyCommandOptions, io: CliIo): Promise<number> {
  const runMode = Array.isArray(opts.command) && opts.command.length > 0;
  const toStdout = opts.file === '-';
  // When stdout carries YAML or belongs to the child command, status lines go to stderr.
  const statusOut = runMode || toStdout ? io.stderr : io.stdout;
  const reporter: Reporter =
    opts.output === 'json' ? new JsonReporter(statusOut, io.stderr, Boolean(opts.debug)) : new HumanReporter(statusOut, io.stderr, Boolean(opts.debug));
  try {
    return await runSession(opts, io, reporter, runMode, toStdout);
  } catch (err) {
    const e = err as { code?: unknown; message?: string; exitCode?: unknown };
    reporter.error({
      code: typeof e.code === 'string' ? e.code : 'ARCPROXY_INTERNAL',
      message: e.message ?? String(err),
      exitCode: typeof e.exitCode === 'number' ? e.exitCode : ExitCode.internal,
    });
    throw err;
  }
}

async function runSession(opts: ProxyCommandOptions, io: CliIo, reporter: Reporter, runMode: boolean, toStdout: boolean): Promise<number> {
  const session = await startSession(opts, io, reporter);
  reporter.listening(session.port);

  let file: string;
  let tempDir: string | undefined;
  let previousContext: string | undefined;
  let merged = false;
  try {
    if (toStdout) {
      io.stdout.write(renderKubeconfig(session.entry));
      file = '-';
    } else if (runMode && !opts.file) {
      tempDir = await mkdtemp(join(tmpdir(), 'arcproxy-'));
      file = join(tempDir, 'kubeconfig');
      await writeFile(file, renderKubeconfig(session.entry), { mode: 0o600 });
    } else {
      file = opts.file ?? defaultKubeconfigPath(io.env, io.homeDir);
      const result = await mergeKubeconfig(file, session.entry);
      previousContext = result.previousCurrentContext;
      merged = true;
      reporter.merged(session.entry.contextName, file);
    }
  } catch (err) {
    await session.close(0);
    if (tempDir) await rm(tempDir, { recursive: true, force: true });
    throw err;
  }

  const cleanup = async () => {
    await session.close(5_000);
    if (opts.readyFile) await rm(opts.readyFile, { force: true });
    if (merged && !opts.keepKubeconfig) {
      await removeKubeconfigEntries(file, session.entry, previousContext ? { restoreCurrentContext: previousContext } : {}).catch((err) =>
        io.stderr.write(`arcproxy: could not remove the kubeconfig entries from ${file}: ${(err as Error).message}\n`),
      );
    }
    if (tempDir) await rm(tempDir, { recursive: true, force: true });
  };

  const ready = { port: session.port, context: session.entry.contextName, kubeconfig: file, server: session.entry.server };
  if (opts.readyFile) await writeReadyFile(opts.readyFile, ready);

  if (runMode) {
    const code = await runChild(opts.command!, file, io);
    await cleanup();
    reporter.stopped('command exited', code);
    return code;
  }

  reporter.ready(ready);
  const signal = await waitForSignal(io);
  await cleanup();
  reporter.stopped(signal, ExitCode.ok);
  return ExitCode.ok;
}

/** Atomically (write, then rename) so a script polling for the file never reads half of it. */
async function writeReadyFile(path: string, ready: Record<string, unknown>): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify({ ...ready, pid: process.pid })}\n`, { mode: 0o600 });
  await rename(tmp, path);
}

/** Runs the user's command with KUBECONFIG set, forwarding signals; resolves with its exit code. */
function runChild(command: string[], kubeconfig: string, io: CliIo): Promise<number> {
  return new Promise((resolve) => {
    const [cmd, ...args] = command;
    const child = spawn(cmd!, args, { stdio: 'inherit', env: { ...io.env, KUBECONFIG: kubeconfig } });
    const forward = SIGNALS.map((sig) => {
      const h = () => child.kill(sig);
      io.signals.on(sig, h);
      return [sig, h] as const;
    });
    const done = (code: number) => {
      for (const [s, h] of forward) io.signals.off(s, h);
      resolve(code);
    };
    child.on('error', (err) => {
      io.stderr.write(`arcproxy: cannot run ${cmd}: ${err.message}\n`);
      done(127);
    });
    child.on('exit', (code, signal) => done(code ?? (signal ? 128 + (signalNumber(signal) ?? 1) : 1)));
  });
}

function signalNumber(sig: NodeJS.Signals): number | undefined {
  return ({ SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 } as Record<string, number>)[sig];
}
