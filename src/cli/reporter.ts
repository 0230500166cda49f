/**
 * What arcproxy tells people while it runs. Status lines mirror az connectedk8s proxy's so GUI
 * wrappers that wait for "Start sending kubectl requests" keep working. Tokens never pass here:
 * request log entries carry method, path, status, timing and sizes only.
 */
import type { Writable } from 'node:stream';
import type { RequestLogEntry } from '../proxy/index.js';

export interface Reporter {
  /** A start-up stage began (signing in, resolving the cluster, ...). */
  stage(name: string): void;
  /** An az-style status line for people (e.g. "Proxy is listening on port 47011"). */
  status(line: string): void;
  /** Device-code instructions and other things the user must act on. */
  prompt(message: string): void;
  /** One tunnelled request (--debug). */
  request(entry: RequestLogEntry): void;
  /** A lifecycle event (relay credential renewed, reconnected, ...). */
  event(name: string, data: Record<string, unknown>): void;
}

export class HumanReporter implements Reporter {
  readonly #out: Writable;
  readonly #debug: boolean;
  readonly #start = Date.now();

  /** `out` receives status lines: stdout normally, stderr when stdout carries data (-f -, run mode). */
  constructor(out: Writable, readonly err: Writable, debug: boolean) {
    this.#out = out;
    this.#debug = debug;
  }

  stage(name: string): void {
    if (this.#debug) this.err.write(`[${((Date.now() - this.#start) / 1000).toFixed(3)}s] ${name}…\n`);
  }

  status(line: string): void {
    this.#out.write(`${line}\n`);
  }

  prompt(message: string): void {
    this.err.write(`${message}\n`);
  }

  request(e: RequestLogEntry): void {
    this.err.write(`${e.method} ${e.path}${e.upgrade ? ' (upgrade)' : ''} ${e.status} ${e.durationMs.toFixed(1)}ms in=${e.bytesIn} out=${e.bytesOut}\n`);
  }

  event(name: string, data: Record<string, unknown>): void {
    if (this.#debug) this.err.write(`${name} ${JSON.stringify(data)}\n`);
  }
}
