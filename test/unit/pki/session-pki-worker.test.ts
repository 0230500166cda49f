import { X509Certificate, createPrivateKey, createPublicKey } from 'node:crypto';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createSessionPkiOffThread, prefetchSessionPki, takeSessionPki } from '../../../src/pki/session-pki-worker.js';
import type { SessionPki } from '../../../src/pki/session-pki.js';

// The worker runs compiled code: `npm test` builds dist first.
const BUILT_WORKER = new URL('../../../dist/pki/worker.js', import.meta.url);

function expectValid(pki: SessionPki): void {
  const ca = new X509Certificate(pki.caCert);
  const server = new X509Certificate(pki.server.cert);
  const client = new X509Certificate(pki.client.cert);
  expect(server.checkIssued(ca)).toBe(true);
  expect(client.checkIssued(ca)).toBe(true);
  expect(server.verify(ca.publicKey)).toBe(true);
  expect(server.checkIP('127.0.0.1')).toBe('127.0.0.1');
  expect(client.subject).toContain('CN=arcproxy-user');
  // Each private key belongs to its certificate.
  const pub = (pem: string) => createPublicKey(createPrivateKey(pem)).export({ type: 'spki', format: 'der' }).toString('hex');
  expect(pub(pki.server.key)).toBe(server.publicKey.export({ type: 'spki', format: 'der' }).toString('hex'));
  expect(pub(pki.client.key)).toBe(client.publicKey.export({ type: 'spki', format: 'der' }).toString('hex'));
}

describe('createSessionPkiOffThread', () => {
  it.skipIf(!existsSync(BUILT_WORKER))('makes a valid session PKI in a worker thread', async () => {
    const fallbacks: string[] = [];
    const pki = await createSessionPkiOffThread({ workerUrl: BUILT_WORKER, onFallback: (r) => fallbacks.push(r) });
    expect(fallbacks).toEqual([]);
    expectValid(pki);
  });

  it('falls back to this thread when the worker cannot start', async () => {
    const fallbacks: string[] = [];
    const pki = await createSessionPkiOffThread({ workerUrl: new URL('./no-such-worker.js', import.meta.url), onFallback: (r) => fallbacks.push(r) });
    expect(fallbacks).toHaveLength(1);
    expectValid(pki);
  });

  it('hands a prefetched PKI out once; every session gets its own CA', async () => {
    prefetchSessionPki();
    const first = await takeSessionPki();
    const second = await takeSessionPki();
    expectValid(first);
    expectValid(second);
    expect(second.caCert).not.toBe(first.caCert);
    expect(new X509Certificate(second.server.cert).checkIssued(new X509Certificate(first.caCert))).toBe(false);
  });

  it('tells the taker why the worker was not used', async () => {
    // Under the TypeScript test runner there is no compiled worker.js next to the module.
    const reasons: string[] = [];
    prefetchSessionPki();
    expectValid(await takeSessionPki((r) => reasons.push(r)));
    expect(reasons).toHaveLength(1);
    expect(reasons[0]).toMatch(/worker/i);
  });
});
