/**
 * Worker-thread entry that makes a session's PKI (see session-pki-worker.ts). Loading
 * @peculiar/x509 and signing three certificates takes ~150 ms of CPU; here it runs on another
 * core while the main thread loads the Azure SDK and signs in. Only PEM strings cross back.
 */
import { parentPort } from 'node:worker_threads';
import { createSessionPki } from './session-pki.js';

createSessionPki().then(
  (pki) => parentPort?.postMessage({ ok: true, pki }),
  (err: unknown) => parentPort?.postMessage({ ok: false, message: err instanceof Error ? err.message : String(err) }),
);
