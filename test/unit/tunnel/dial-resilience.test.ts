/** Dial retries (which failures, how long) and the warm spare connection. */
import { describe, expect, it } from 'vitest';
import { PassThrough, type Duplex } from 'node:stream';
import { dialWithRetry, retryBudgetMs } from '../../../src/tunnel/dial-retry.js';
import { WarmSpareDialer } from '../../../src/tunnel/warm-spare.js';
import { RelayError } from '../../../src/relay/errors.js';
import type { StreamDialer } from '../../../src/tunnel/dialer.js';

const noListener = () => new RelayError('ARCPROXY_RELAY_NO_LISTENER', 'no listener', { httpStatus: 404 });

describe('dial retries', () => {
  it('retry budgets: brief for no listener, a few seconds for transient failures, none for the rest', () => {
    expect(retryBudgetMs(noListener())).toBe(400);
    expect(retryBudgetMs(new RelayError('ARCPROXY_RELAY_UNREACHABLE', 'x'))).toBe(3_000);
    expect(retryBudgetMs(new RelayError('ARCPROXY_RELAY_REJECTED', 'x', { httpStatus: 503 }))).toBe(3_000);
    expect(retryBudgetMs(new RelayError('ARCPROXY_RELAY_REJECTED', 'x', { httpStatus: 400 }))).toBe(0);
    expect(retryBudgetMs(new RelayError('ARCPROXY_RELAY_FORBIDDEN', 'x'))).toBe(0);
    expect(retryBudgetMs(new Error('plain'))).toBe(0);
  });

  it('bridges a short listener gap', async () => {
    let attempts = 0;
    const stream = await dialWithRetry(async () => {
      if (++attempts < 3) throw noListener();
      return 'stream';
    }, undefined);
    expect(stream).toBe('stream');
    expect(attempts).toBe(3);
  });

  it('gives up on an offline agent within its short budget (kubectl gets its 503 fast)', async () => {
    let attempts = 0;
    await expect(
      dialWithRetry(
        async () => {
          attempts++;
          throw noListener();
        },
        undefined,
        { noListenerBudgetMs: 150 },
      ),
    ).rejects.toMatchObject({ code: 'ARCPROXY_RELAY_NO_LISTENER' });
    expect(attempts).toBeGreaterThan(1);
  });

  it('does not retry what waiting cannot fix, and stops when aborted', async () => {
    let attempts = 0;
    await expect(
      dialWithRetry(async () => {
        attempts++;
        throw new RelayError('ARCPROXY_RELAY_FORBIDDEN', 'no');
      }, undefined),
    ).rejects.toMatchObject({ code: 'ARCPROXY_RELAY_FORBIDDEN' });
    expect(attempts).toBe(1);

    const ac = new AbortController();
    const p = dialWithRetry(
      async () => {
        ac.abort();
        throw new RelayError('ARCPROXY_RELAY_UNREACHABLE', 'down');
      },
      ac.signal,
      { transientBudgetMs: 60_000 },
    );
    await expect(p).rejects.toMatchObject({ code: 'ARCPROXY_RELAY_UNREACHABLE' });
  });
});

/** A dialer of PassThrough streams that can be switched offline. */
function scriptedDialer() {
  const d = {
    online: true,
    dials: 0,
    streams: [] as Duplex[],
    async dial(): Promise<Duplex> {
      d.dials++;
      if (!d.online) throw noListener();
      const s = new PassThrough();
      d.streams.push(s);
      return s;
    },
  };
  return d satisfies StreamDialer;
}

const settle = () => new Promise((r) => setImmediate(r));

describe('warm spare', () => {
  it('keeps one connection ready, hands it out, and opens the next in the background', async () => {
    const inner = scriptedDialer();
    const spare = new WarmSpareDialer(inner);
    spare.fill();
    spare.fill();
    await settle();
    expect(inner.dials).toBe(1);
    expect(spare.ready).toBe(true);
    const first = await spare.dial();
    expect(first).toBe(inner.streams[0]);
    await settle();
    expect(inner.dials).toBe(2);
    expect(spare.ready).toBe(true);
    spare.close();
    expect(inner.streams[1]!.destroyed).toBe(true);
    expect(first.destroyed).toBe(false);
  });

  it('is replaced when the credential changes, and never handed out dead', async () => {
    const inner = scriptedDialer();
    const spare = new WarmSpareDialer(inner);
    spare.fill();
    await settle();
    spare.refresh();
    expect(inner.streams[0]!.destroyed).toBe(true);
    await settle();
    expect(inner.dials).toBe(2);
    inner.streams[1]!.destroy(); // died young: not replaced in the background
    await settle();
    expect(spare.ready).toBe(false);
    const s = await spare.dial();
    expect(s).toBe(inner.streams[2]);
    spare.close();
  });

  it('keeps none while the agent is offline, and comes back with the next successful dial', async () => {
    const inner = scriptedDialer();
    inner.online = false;
    const spare = new WarmSpareDialer(inner);
    spare.fill();
    await settle();
    expect(spare.ready).toBe(false);
    await expect(spare.dial()).rejects.toMatchObject({ code: 'ARCPROXY_RELAY_NO_LISTENER' });
    await settle();
    expect(inner.dials).toBe(2); // no background retries
    inner.online = true;
    await spare.dial();
    await settle();
    expect(spare.ready).toBe(true);
    spare.close();
  });
});
