/**
 * The session PKI, made off the main thread. Start-up is CPU-bound: on the main thread the
 * certificate library and the signing would add ~150 ms to launch-to-ready, while a worker does
 * the same on another core as the main thread loads the Azure SDK and signs in.
 *
 * `prefetchSessionPki()` starts one generation as early as the CLI knows a session will start;
 * `takeSessionPki()` hands that one out (once) or starts a new one, so every session still gets
 * its own fresh CA. When a worker cannot run (no built worker file, e.g. under a TypeScript test
 * runner, or threads unavailable) the PKI is made on the main thread, as before.
 */
import { Worker } from 'node:worker_threads';
import type { SessionPki } from './session-pki.js';

type WorkerReply = { ok: true; pki: SessionPki } | { ok: false; message: string };

/**
 * The worker's bundled source, set at build time for the single executable (scripts/build-sea.mjs):
 * it has no worker.js beside it, so the worker runs from this string. Undefined everywhere else.
 */
declare const __ARCPROXY_PKI_WORKER_SOURCE__: string | undefined;

/** The worker to start: its embedded source in the single executable, else worker.js next to this module. */
function defaultWorker(): URL | string {
  return typeof __ARCPROXY_PKI_WORKER_SOURCE__ === 'string' ? __ARCPROXY_PKI_WORKER_SOURCE__ : new URL('./worker.js', import.meta.url);
}

export interface SessionPkiWorkerOptions {
  /** The worker entry; default the compiled worker.js next to this module. */
  workerUrl?: URL;
  /** Called when the worker could not be used and the main thread made the PKI instead. */
  onFallback?: (reason: string) => void;
}

async function inThisThread(): Promise<SessionPki> {
  const { createSessionPki } = await import('./session-pki.js');
  return createSessionPki();
}

function inWorker(worker: URL | string): Promise<SessionPki> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const settle = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      fn();
    };
    let thread: Worker;
    try {
      // No stdin/stdout of its own; the worker only computes and replies once. A string is source code.
      thread = new Worker(worker, { stdout: false, stderr: false, eval: typeof worker === 'string' });
    } catch (err) {
      reject(err);
      return;
    }
    // A start-up that fails elsewhere must not be kept alive by this worker.
    thread.unref();
    thread.once('message', (reply: WorkerReply) => {
      settle(() => (reply.ok ? resolve(reply.pki) : reject(new Error(reply.message))));
      void thread.terminate();
    });
    thread.once('error', (err) => settle(() => reject(err)));
    thread.once('exit', (code) => settle(() => reject(new Error(`the PKI worker exited (${code}) without a result`))));
  });
}

/** Makes a fresh session PKI in a worker thread, or on this thread when a worker cannot be used. */
export async function createSessionPkiOffThread(opts: SessionPkiWorkerOptions = {}): Promise<SessionPki> {
  try {
    return await inWorker(opts.workerUrl ?? defaultWorker());
  } catch (err) {
    opts.onFallback?.(err instanceof Error ? err.message : String(err));
    return inThisThread();
  }
}

/** A generation under way; `fallback` says why it ran on the main thread, if it did. */
interface Generation {
  readonly pki: Promise<SessionPki>;
  readonly fallback: string | undefined;
}

function generate(): Generation {
  let fallback: string | undefined;
  const pki = createSessionPkiOffThread({ onFallback: (reason) => (fallback = reason) });
  // Taken later, or never (start-up failed first): never an unhandled rejection.
  pki.catch(() => undefined);
  return {
    pki,
    get fallback() {
      return fallback;
    },
  };
}

let prefetched: Generation | undefined;

/** Starts making the next session's PKI now (idempotent until it is taken). */
export function prefetchSessionPki(): void {
  prefetched ??= generate();
}

/**
 * The prefetched PKI (each is handed out once), or a new one. `onFallback` hears why the worker
 * could not be used (the PKI was then made on the main thread, costing launch time).
 */
export function takeSessionPki(onFallback?: (reason: string) => void): Promise<SessionPki> {
  const generation = prefetched ?? generate();
  prefetched = undefined;
  return generation.pki.then((pki) => {
    if (generation.fallback !== undefined) onFallback?.(generation.fallback);
    return pki;
  });
}
