/**
 * The stop signals (SIGINT, SIGTERM, SIGHUP) while a session runs. Once installed, a signal no
 * longer kills the process: the first one asks for a clean stop, later ones are passed to
 * whoever listens (run mode forwards them to the command), so clean-up is never cut short.
 */
import { constants } from 'node:os';

const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
export type StopSignal = (typeof STOP_SIGNALS)[number];

/** The shell's exit status for a process ended by `signal`: 128 + its number on this platform. */
export function signalExitCode(signal: NodeJS.Signals): number {
  return 128 + (constants.signals[signal] ?? 1);
}

export class SignalWatch {
  readonly #signals: NodeJS.EventEmitter;
  readonly #installed: Array<readonly [StopSignal, () => void]>;
  readonly #listeners = new Set<(signal: StopSignal) => void>();
  #received: StopSignal | undefined;
  #resolveFirst!: (signal: StopSignal) => void;
  /** Resolves with the first stop signal. */
  readonly first: Promise<StopSignal>;

  constructor(signals: NodeJS.EventEmitter) {
    this.#signals = signals;
    this.first = new Promise((resolve) => (this.#resolveFirst = resolve));
    this.#installed = STOP_SIGNALS.map((sig) => {
      const handler = () => {
        if (this.#received === undefined) {
          this.#received = sig;
          this.#resolveFirst(sig);
        }
        for (const listener of this.#listeners) listener(sig);
      };
      signals.on(sig, handler);
      return [sig, handler] as const;
    });
  }

  /** The first signal, if one has arrived. */
  get received(): StopSignal | undefined {
    return this.#received;
  }

  /** Calls `fn` for every signal from now on; returns a function that stops it. */
  onSignal(fn: (signal: StopSignal) => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  /** Gives the signals back to their default handling. */
  dispose(): void {
    for (const [sig, handler] of this.#installed) this.#signals.off(sig, handler);
    this.#listeners.clear();
  }
}
