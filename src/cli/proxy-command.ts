/**
 * `arcproxy -n NAME -g RG [...]`: start a session, publish it in a kubeconfig, then either wait
 * for Ctrl+C (foreground mode) or run a command against it and exit with its code (run mode).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CliIo } from './io.js';
import { HumanReporter, JsonReporter, type ReadyInfo, type Reporter } from './reporter.js';
import { progressFor } from './progress.js';
import { SignalWatch, signalExitCode } from './signals.js';
import { runChild } from './run-child.js';
import { assertReadyFileWritable, removeReadyFile, writeReadyFile } from './ready-file.js';
import { startSession, type Session, type SessionOptions } from '../session/start.js';
import { SHUTDOWN_GRACE_MS } from '../proxy/server.js';
import {
  defaultKubeconfigPath,
  mergeKubeconfig,
  removeKubeconfigEntries,
  renderKubeconfig,
  type KubeconfigUndo,
  type ProxyKubeconfigEntry,
} from '../kubeconfig/index.js';
import { ArcproxyError, ExitCode, errorCodeOf } from '../errors/index.js';

export interface ProxyCommandOptions extends SessionOptions {
  file?: string;
  keepKubeconfig?: boolean;
  /** Run mode: the command after `--`. */
  command?: string[];
  output?: 'text' | 'json';
  /** Written (JSON) once the proxy is ready; removed when it stops. */
  readyFile?: string;
}

export async function runProxyCommand(opts: ProxyCommandOptions, io: CliIo): Promise<number> {
  const runMode = Array.isArray(opts.command) && opts.command.length > 0;
  const toStdout = opts.file === '-';
  // When stdout carries YAML or belongs to the child command, status lines go to stderr.
  const statusOut = runMode || toStdout ? io.stderr : io.stdout;
  const debug = Boolean(opts.debug);
  const reporter: Reporter =
    opts.output === 'json'
      ? new JsonReporter(statusOut, io.stderr, debug)
      : new HumanReporter(statusOut, io.stderr, debug, progressFor(io.stderr, io.stderrIsTty, io.env));
  try {
    if (opts.readyFile) await assertReadyFileWritable(opts.readyFile);
    return await runSession(opts, io, reporter, runMode, toStdout);
  } catch (err) {
    reporter.error({
      code: errorCodeOf(err),
      message: err instanceof Error ? err.message : String(err),
      exitCode: err instanceof ArcproxyError ? err.exitCode : ExitCode.internal,
    });
    throw err;
  }
}

/** Where this session's kubeconfig entry went, and what clean-up must undo. */
interface Published {
  /** The kubeconfig path, or "-" for stdout. */
  file: string;
  entry: ProxyKubeconfigEntry;
  /** Set when the entry was merged into a file we must remove it from. */
  merged?: { previousContext: string | undefined; undo: KubeconfigUndo | undefined };
  /** Run mode's temporary directory. */
  tempDir?: string;
}

async function runSession(opts: ProxyCommandOptions, io: CliIo, reporter: Reporter, runMode: boolean, toStdout: boolean): Promise<number> {
  const session = await startSession(opts, io, reporter);
  // From here on a signal means "stop cleanly": files are about to be written. Before, the
  // default (exit at once) is right: nothing is written yet and start-up may wait on sign-in.
  const signals = new SignalWatch(io.signals);
  let published: Published | undefined;
  let outcome: { reason: string; code: number };
  // A stop signal before ready stops waiting at once: for another writer's kubeconfig lock, and
  // for the start-up check. Whatever was already written is cleaned up as on any stop.
  const interrupt = new AbortController();
  const stopInterrupting = signals.onSignal(() => interrupt.abort());
  try {
    reporter.listening(session.port);
    // The kubeconfig is written while the first relay stream opens; ready waits for both.
    const publishing = publish(opts, io, session, reporter, runMode, toStdout, interrupt.signal);
    const started = await Promise.race([Promise.all([publishing, session.relayChecked]), signals.first]);
    stopInterrupting();
    if (typeof started === 'string') {
      // Stopped before ready: a merge already under way finishes (and is taken out again below).
      published = await publishing.catch(() => undefined);
      outcome = { reason: started, code: signalExitCode(started) };
    } else {
      [published] = started;
      const ready: ReadyInfo = {
        port: session.port,
        context: published.entry.contextName,
        kubeconfig: published.file,
        server: published.entry.server,
        mode: runMode ? 'run' : 'foreground',
      };
      if (opts.readyFile) await writeReadyFile(opts.readyFile, { ...ready }, process.pid);
      reporter.ready(ready);
      session.warmUp();
      outcome = runMode ? await runCommand(opts.command!, published.file, io, signals) : await waitForStop(signals);
    }
  } catch (err) {
    await shutdown(opts, io, reporter, session, published, 0);
    signals.dispose();
    throw err;
  }
  // A second Ctrl+C must not cut clean-up short (entries would stay behind); the grace is bounded.
  if (!runMode) signals.onSignal(() => io.stderr.write(`arcproxy: stopping; in-flight requests get up to ${SHUTDOWN_GRACE_MS / 1000} s to finish.\n`));
  await shutdown(opts, io, reporter, session, published, SHUTDOWN_GRACE_MS);
  reporter.stopped(outcome.reason, outcome.code);
  signals.dispose();
  return outcome.code;
}

async function publish(
  opts: ProxyCommandOptions,
  io: CliIo,
  session: Session,
  reporter: Reporter,
  runMode: boolean,
  toStdout: boolean,
  signal: AbortSignal,
): Promise<Published> {
  const entry = session.entry;
  if (toStdout) {
    io.stdout.write(renderKubeconfig(entry));
    return { file: '-', entry };
  }
  if (runMode && !opts.file) {
    const tempDir = await mkdtemp(join(tmpdir(), 'arcproxy-'));
    const file = join(tempDir, 'kubeconfig');
    try {
      await writeFile(file, renderKubeconfig(entry), { mode: 0o600 });
    } catch (err) {
      await rm(tempDir, { recursive: true, force: true });
      throw err;
    }
    return { file, entry, tempDir };
  }
  const file = opts.file ?? defaultKubeconfigPath(io.env, io.homeDir);
  const result = await mergeKubeconfig(file, entry, {
    onLockWait: (lock) => reporter.stage(`Waiting for ${lock}`),
    onStaleLock: (notice) => reporter.warn(notice),
    signal,
  });
  reporter.merged(entry.contextName, file);
  return { file, entry, merged: { previousContext: result.previousCurrentContext, undo: result.undo } };
}

/**
 * Two sessions of one cluster under two --kube-context names must not share a kubeconfig user:
 * each has its own client certificate, and each removes its user on exit.
 * (Belongs in src/session/names.ts; kept here until that module derives it.)
 */
async function waitForStop(signals: SignalWatch): Promise<{ reason: string; code: number }> {
  return { reason: await signals.first, code: ExitCode.ok };
}

async function runCommand(command: string[], kubeconfig: string, io: CliIo, signals: SignalWatch): Promise<{ reason: string; code: number }> {
  // Stopped before the command could start: report it as the command would have been.
  if (signals.received) return { reason: signals.received, code: signalExitCode(signals.received) };
  return { reason: 'command exited', code: await runChild(command, kubeconfig, io, signals) };
}

/**
 * Stops accepting at once and, while in-flight requests get `graceMs` to finish, takes the
 * kubeconfig entries out (first, so a kill during the grace leaves nothing behind).
 */
async function shutdown(
  opts: ProxyCommandOptions,
  io: CliIo,
  reporter: Reporter,
  session: Session,
  published: Published | undefined,
  graceMs: number,
): Promise<void> {
  const closing = session.close(graceMs);
  const tidy = async () => {
    if (opts.readyFile) await removeReadyFile(opts.readyFile).catch(() => undefined);
    if (published?.merged && !opts.keepKubeconfig) {
      const restore = published.merged.previousContext;
      const onStaleLock = (notice: string) => reporter.warn(notice);
      const undo = published.merged.undo;
      await removeKubeconfigEntries(published.file, published.entry, { ...(restore ? { restoreCurrentContext: restore } : {}), onStaleLock, undo }).then(
        (r) => {
          if (r.removed) reporter.kubeconfigRestored(published.entry.contextName, published.file, r.currentContext);
        },
        (err) => io.stderr.write(`arcproxy: could not remove the kubeconfig entries from ${published.file}: ${(err as Error).message}\n`),
      );
    }
    if (published?.tempDir) await rm(published.tempDir, { recursive: true, force: true });
  };
  await Promise.all([closing, tidy()]);
}
