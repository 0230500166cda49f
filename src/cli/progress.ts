/**
 * The live start-up line people see on a terminal: one line on stderr naming the stage in
 * progress and how long it has taken, rewritten in place and erased before anything else is
 * printed. Off a terminal it writes nothing, so logs and pipes get only the az-style lines.
 */
import type { Writable } from 'node:stream';

/** Calls `fn` periodically until the returned function is called (injected so tests drive it). */
export type Ticker = (fn: () => void) => () => void;

export interface ProgressOptions {
  out: Writable;
  /** A terminal that understands \r and erase-line; false disables the live line entirely. */
  live: boolean;
  /** False under NO_COLOR or FORCE_COLOR=0: no SGR colour codes (the line itself is still rewritten). */
  color: boolean;
  now?: () => number;
  ticker?: Ticker;
}

const ERASE_LINE = '\r\x1b[2K';
const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
const CYAN = (s: string) => `\x1b[36m${s}\x1b[39m`;
const DIM = (s: string) => `\x1b[2m${s}\x1b[22m`;

/** Ten redraws a second: enough for a ticking clock, and unref'd so it never keeps the process up. */
const intervalTicker: Ticker = (fn) => {
  const timer = setInterval(fn, 100);
  timer.unref();
  return () => clearInterval(timer);
};

/** The live line for a terminal; decides from the process edges whether one should be drawn. */
export function progressFor(stderr: Writable, stderrIsTty: boolean, env: NodeJS.ProcessEnv): ProgressLine {
  // A dumb terminal prints escape codes literally; NO_COLOR is "set and not empty" (no-color.org);
  // FORCE_COLOR=0 (or false) turns colour off as it does for Node itself.
  const color = !env.NO_COLOR && env.FORCE_COLOR !== '0' && env.FORCE_COLOR !== 'false';
  return new ProgressLine({ out: stderr, live: stderrIsTty && env.TERM !== 'dumb', color });
}

export class ProgressLine {
  readonly #out: Writable;
  readonly #live: boolean;
  readonly #color: boolean;
  readonly #now: () => number;
  readonly #ticker: Ticker;
  #stage: string | undefined;
  #since = 0;
  #frame = 0;
  #shown = false;
  #stopTicker: (() => void) | undefined;

  constructor(opts: ProgressOptions) {
    this.#out = opts.out;
    this.#live = opts.live;
    this.#color = opts.color;
    this.#now = opts.now ?? Date.now;
    this.#ticker = opts.ticker ?? intervalTicker;
  }

  /** A new stage began: it replaces the previous one on the same line. */
  stage(name: string): void {
    if (!this.#live) return;
    this.#stage = name;
    this.#since = this.#now();
    this.#stopTicker ??= this.#ticker(() => this.#draw());
    this.#draw();
  }

  /** Start-up is over (or failed): erase the line and stop redrawing. */
  done(): void {
    this.#stopTicker?.();
    this.#stopTicker = undefined;
    this.#stage = undefined;
    this.#erase();
  }

  /** Writes other output (a prompt, a debug line) without mixing it into the live line. */
  interrupt(write: () => void): void {
    this.#erase();
    write();
    if (this.#stage !== undefined) this.#draw();
  }

  #draw(): void {
    if (this.#stage === undefined) return;
    const frame = FRAMES[this.#frame++ % FRAMES.length]!;
    const secs = `${((this.#now() - this.#since) / 1000).toFixed(1)}s`;
    const line = this.#color ? `${CYAN(frame)} ${this.#stage}… ${DIM(secs)}` : `${frame} ${this.#stage}… ${secs}`;
    this.#out.write(`${ERASE_LINE}${line}`);
    this.#shown = true;
  }

  #erase(): void {
    if (!this.#shown) return;
    this.#out.write(ERASE_LINE);
    this.#shown = false;
  }
}
