/** Fake StreamDialers for the tunnel tests: every dial waits until the test settles it. */
import { EventEmitter } from 'node:events';
import { PassThrough, type Duplex } from 'node:stream';
import type { StreamDialer } from '../../../src/tunnel/dialer.js';

export interface PendingDial {
  readonly signal: AbortSignal | undefined;
  /** The dial's promise, as the dialer's caller got it; settled by `open` or `fail`. */
  readonly promise: Promise<Duplex>;
  /** Lets the dial succeed with a new PassThrough, which it returns. */
  open(): PassThrough;
  fail(err: unknown): void;
}

export interface ManualDialer extends StreamDialer {
  /** Every dial so far, in order. */
  readonly calls: PendingDial[];
  /** Dial number `n` (0-based), as soon as it has been made; rejects if it is not made within 2 s. */
  call(n: number): Promise<PendingDial>;
}

/** A StreamDialer whose dials stay pending until the test opens or fails them. */
export function manualDialer(): ManualDialer {
  const calls: PendingDial[] = [];
  const made = new EventEmitter();
  return {
    calls,
    call(n) {
      if (calls[n]) return Promise.resolve(calls[n]);
      return new Promise((resolve, reject) => {
        // A deadline, not a wait: it only turns a dial that never comes into a clear failure.
        const deadline = setTimeout(() => {
          made.off('dial', check);
          reject(new Error(`dial #${n} was never made (${calls.length} made)`));
        }, 2_000);
        function check(): void {
          if (!calls[n]) return;
          clearTimeout(deadline);
          made.off('dial', check);
          resolve(calls[n]);
        }
        made.on('dial', check);
      });
    },
    dial(signal?: AbortSignal): Promise<Duplex> {
      let resolve!: (s: Duplex) => void;
      let reject!: (e: unknown) => void;
      const promise = new Promise<Duplex>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      // A dial nobody awaits (a spare being discarded) must not fail the test run.
      promise.catch(() => undefined);
      calls.push({
        signal,
        promise,
        open() {
          const stream = new PassThrough();
          resolve(stream);
          return stream;
        },
        fail: reject,
      });
      made.emit('dial');
      return promise;
    },
  };
}

/**
 * Lets every callback already queued on settled promises and on setImmediate run: used only to
 * show that something did NOT happen (a dial still pending, no new dial), never to wait for it.
 */
export const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
