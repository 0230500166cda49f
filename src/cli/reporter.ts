/**
 * What arcproxy tells people and scripts while it runs. Human status lines mirror
 * az connectedk8s proxy's, so GUI wrappers that wait for "Start sending kubectl requests" keep
 * working; `--output json` writes one JSON event per line instead. Tokens never pass here: request
 * log entries carry method, path, status, timing and sizes only.
 */
import type { Writable } from 'node:stream';
import type { RequestLogEntry } from '../proxy/index.js';
import type { ProbeResult } from '../session/cluster-probe.js';
import type { SessionEvents } from '../session/ports.js';
import type { TunnelState } from '../tunnel/tunnel-health.js';
import { ProgressLine } from './progress.js';

export interface ReadyInfo {
  port: number;
  context: string;
  /** Kubeconfig path, or "-" when it went to stdout. */
  kubeconfig: string;
  server: string;
  /** foreground: waits for a signal; run: serves the command after `--`. */
  mode: 'foreground' | 'run';
}

/** The session's events (stages, prompts, requests, tunnel state, ...) and the CLI's own. */
export interface Reporter extends SessionEvents {
  /** The local listener is open. */
  listening(port: number): void;
  /** The kubeconfig entry was merged into a file. */
  merged(context: string, file: string): void;
  /** kubectl may start now. */
  ready(info: ReadyInfo): void;
  /** A failure that ends arcproxy. */
  error(err: { code: string; message: string; exitCode: number }): void;
  /** The session's kubeconfig entries were taken out again; `currentContext` is what is current now. */
  kubeconfigRestored(context: string, file: string, currentContext: string | undefined): void;
  /** arcproxy stopped. */
  stopped(reason: string, exitCode: number): void;
}

const elapsed = (start: number) => `${((Date.now() - start) / 1000).toFixed(3)}s`;

export class HumanReporter implements Reporter {
  readonly #start = Date.now();
  readonly #progress: ProgressLine;

  /**
   * `out` receives status lines: stdout normally, stderr when stdout carries data (-f -, run mode).
   * `progress` draws the live start-up line on a terminal; by default nothing is drawn.
   */
  readonly #out: Writable;
  readonly #err: Writable;
  readonly #debug: boolean;

  constructor(out: Writable, err: Writable, debug: boolean, progress?: ProgressLine) {
    this.#out = out;
    this.#err = err;
    this.#debug = debug;
    this.#progress = progress ?? new ProgressLine({ out: err, live: false, color: false });
  }

  stage(name: string): void {
    // --debug keeps a timestamped line per stage, which a live line would erase.
    if (this.#debug) this.#toErr(`[${elapsed(this.#start)}] ${name}…\n`);
    else this.#progress.stage(name);
  }

  listening(port: number): void {
    this.#progress.done();
    this.#out.write(`Proxy is listening on port ${port}\n`);
  }

  merged(context: string, file: string): void {
    this.#progress.done();
    this.#out.write(`Merged "${context}" as current context in ${file}\n`);
  }

  ready(info: ReadyInfo): void {
    this.#progress.done();
    // In run mode the command starts now; there is nothing to press.
    if (info.mode === 'run') return;
    if (info.kubeconfig !== '-') {
      this.#out.write(`Start sending kubectl requests on '${info.context}' context using kubeconfig at ${info.kubeconfig}\n`);
    }
    this.#out.write('Press Ctrl+C to close proxy.\n');
  }

  prompt(message: string): void {
    this.#toErr(`${message}\n`);
  }

  warn(message: string): void {
    this.#toErr(`arcproxy: warning: ${message}\n`);
  }

  request(e: RequestLogEntry): void {
    const version = e.httpVersion === undefined ? '' : ` HTTP/${e.httpVersion}`;
    const id = e.requestId === undefined ? '' : ` id=${e.requestId}`;
    this.#toErr(
      `${e.method} ${e.path}${e.upgrade ? ' (upgrade)' : ''} ${e.status} ${e.durationMs.toFixed(1)}ms in=${e.bytesIn} out=${e.bytesOut}${version}${id}\n`,
    );
  }

  event(name: string, data: Record<string, unknown>): void {
    if (this.#debug) this.#toErr(`[${elapsed(this.#start)}] ${name} ${JSON.stringify(data)}\n`);
  }

  tunnel(state: TunnelState): void {
    this.#toErr(state.ok ? 'arcproxy: the tunnel to the cluster works again.\n' : `${state.message}\n`);
  }

  error(): void {
    // main() prints the error for people; the live line must be gone by then.
    this.#progress.done();
  }

  clusterCheck(result: ProbeResult): void {
    if (result.status >= 200 && result.status < 300) {
      if (this.#debug) this.#toErr(`Reached the cluster's apiserver (Kubernetes ${result.gitVersion ?? 'version unknown'}).\n`);
    } else if (result.status === 401 || result.status === 403) {
      // The tunnel works but the cluster refuses this identity: kubectl will fail the same way.
      this.#toErr(`arcproxy: warning: the cluster answered ${result.status} to a test request${result.message ? `: ${result.message}` : ''}\n`);
    }
  }

  kubeconfigRestored(context: string, file: string, currentContext: string | undefined): void {
    const now = currentContext ? `the current context is "${currentContext}" again` : 'no context is current';
    this.#toErr(`Removed "${context}" from ${file}; ${now}.\n`);
  }

  stopped(): void {
    this.#progress.done();
  }

  #toErr(text: string): void {
    this.#progress.interrupt(() => this.#err.write(text));
  }
}

/** `--output json`: one event per line on `out`, each with a timestamp. */
export class JsonReporter implements Reporter {
  readonly #out: Writable;
  readonly #err: Writable;
  readonly #debug: boolean;

  constructor(out: Writable, err: Writable, debug: boolean) {
    this.#out = out;
    this.#err = err;
    this.#debug = debug;
  }

  #emit(event: string, data: Record<string, unknown> = {}): void {
    this.#out.write(`${JSON.stringify({ event, time: new Date().toISOString(), ...data })}\n`);
  }

  stage(name: string): void {
    this.#emit('stage', { stage: name });
  }

  listening(port: number): void {
    this.#emit('listening', { port });
  }

  merged(context: string, file: string): void {
    this.#emit('kubeconfigMerged', { context, kubeconfig: file });
  }

  ready(info: ReadyInfo): void {
    this.#emit('ready', { ...info, pid: process.pid });
  }

  prompt(message: string): void {
    this.#err.write(`${message}\n`);
  }

  warn(message: string): void {
    this.#emit('warning', { message });
  }

  request(e: RequestLogEntry): void {
    if (this.#debug) this.#emit('request', { ...e });
  }

  event(name: string, data: Record<string, unknown>): void {
    this.#emit(name, data);
  }

  tunnel(state: TunnelState): void {
    this.#emit(state.ok ? 'tunnelUp' : 'tunnelDown', state.ok ? {} : { code: state.code, message: state.message });
  }

  error(err: { code: string; message: string; exitCode: number }): void {
    this.#emit('error', { code: err.code, message: err.message, exitCode: err.exitCode });
  }

  clusterCheck(result: ProbeResult): void {
    this.#emit('clusterCheck', {
      status: result.status,
      ...(result.gitVersion ? { gitVersion: result.gitVersion } : {}),
      ...(result.message ? { message: result.message } : {}),
    });
  }

  kubeconfigRestored(context: string, file: string, currentContext: string | undefined): void {
    this.#emit('kubeconfigRestored', { context, kubeconfig: file, currentContext: currentContext ?? null });
  }

  stopped(reason: string, exitCode: number): void {
    this.#emit('stopped', { reason, exitCode });
  }
}
