import { afterEach, describe, expect, it } from 'vitest';
import type { Duplex } from 'node:stream';
import type { StreamDialer } from '../../../src/tunnel/dialer.js';
import { PREFIX, gate, get, netDialer, sharedPki, startProxy, startUpstream } from './helpers.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

describe('many relay dials at once', () => {
  it('listen for shutdown without a listener-leak warning', async () => {
    const pki = await sharedPki();
    const upstream = await startUpstream((_req, res) => res.end('ok'));
    cleanups.push(() => upstream.close());
    const inner = netDialer(upstream.port);
    const held = gate();
    let waiting = 0;
    const allWaiting = gate();
    const COUNT = 30;
    // Like the relay sender: each dial listens for abort until it settles; all are held open at once.
    const dialer: StreamDialer = {
      async dial(signal?: AbortSignal): Promise<Duplex> {
        const onAbort = (): void => undefined;
        signal?.addEventListener('abort', onAbort, { once: true });
        if (++waiting === COUNT) allWaiting.open();
        await held.promise;
        signal?.removeEventListener('abort', onAbort);
        return inner.dial();
      },
    };
    const warnings: Error[] = [];
    const onWarning = (w: Error): void => void warnings.push(w);
    process.on('warning', onWarning);
    cleanups.push(async () => void process.off('warning', onWarning));
    const proxy = await startProxy(pki, dialer);
    cleanups.push(() => proxy.close(0));

    const responses = Array.from({ length: COUNT }, () => get(pki, proxy.port, `${PREFIX}/x`));
    await allWaiting.promise;
    held.open();
    for (const r of await Promise.all(responses)) expect(r.status).toBe(200);
    // Warnings are emitted on a later tick; one more round trip lets any arrive.
    await get(pki, proxy.port, `${PREFIX}/x`);
    await new Promise((r) => setImmediate(r));
    expect(warnings.map((w) => w.name)).not.toContain('MaxListenersExceededWarning');
  });
});
