/**
 * `arcproxy -n NAME -g RG [...]`: start a session, publish it in a kubeconfig, then either wait
 * for Ctrl+C (foreground mode) or run a command against it and exit with its code (run mode).
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CliIo } from './io.js';
import { HumanReporter } from './reporter.js';
import { startSession, type SessionOptions } from '../session/start.js';
import { defaultKubeconfigPath, mergeKubeconfig, removeKubeconfigEntries, renderKubeconfig } from '../kubeconfig/index.js';
import { ExitCode } from '../errors.js';

export interface ProxyCommandOptions extends SessionOptions {
  file?: string;
  keepKubeconfig?: boolean;
  /** Run mode: the command after `--`. */
  command?: string[];
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
  const reporter = new HumanReporter(runMode || toStdout ? io.stderr : io.stdout, io.stderr, Boolean(opts.debug));
  const session = await startSession(opts, io, reporter);
  reporter.status(`Proxy is listening on port ${session.port}`);

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
      reporter.status(`Merged "${session.entry.contextName}" as current context in ${file}`);
    }
  } catch (err) {
    await session.close(0);
    if (tempDir) await rm(tempDir, { recursive: true, force: true });
    throw err;
  }

  const cleanup = async () => {
    await session.close(5_000);
    if (merged && !opts.keepKubeconfig) {
      await removeKubeconfigEntries(file, session.entry, previousContext ? { restoreCurrentContext: previousContext } : {}).catch((err) =>
        io.stderr.write(`arcproxy: could not remove the kubeconfig entries from ${file}: ${(err as Error).message}\n`),
      );
    }
    if (tempDir) await rm(tempDir, { recursive: true, force: true });
  };

  if (runMode) {
    const code = await runChild(opts.command!, file, io);
    await cleanup();
    return code;
  }

  if (!toStdout) reporter.status(`Start sending kubectl requests on '${session.entry.contextName}' context using kubeconfig at ${file}`);
  reporter.status('Press Ctrl+C to close proxy.');
  await waitForSignal(io);
  await cleanup();
  return ExitCode.ok;
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
