/**
 * WarmSpareDialer, on dials the test settles itself and an injected clock. (The basics, one spare
 * handed out and replaced, none kept while offline, are in dial-resilience.test.ts.)
 */
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { WarmSpareDialer } from '../../../src/tunnel/warm-spare.js';
import { RelayError } from '../../../src/relay/errors.js';
import { manualDialer, turn } from './fakes.js';

const noListener = () => new RelayError('ARCPROXY_RELAY_NO_LISTENER', 'no listener');

/** A spare dialer over a manual inner dialer, on a clock the test moves. */
function setup() {
  const inner = manualDialer();
  const clock = { now: 0 };
  const spare = new WarmSpareDialer(inner, { minLifetimeMs: 1_000, now: () => clock.now });
  return { inner, clock, spare };
}

describe('WarmSpareDialer', () => {
  it('dials through with the caller signal when it has no spare, then opens one with a signal of its own', async () => {
    const { inner, spare } = setup();
    const ac = new AbortController();
    const dial = spare.dial(ac.signal);
    const real = await inner.call(0);
    expect(real.signal).toBe(ac.signal);
    expect(inner.calls).toHaveLength(1); // no spare dial races the real one
    const stream = real.open();
    expect(await dial).toBe(stream);

    const fill = await inner.call(1);
    expect(fill.signal).not.toBe(ac.signal);
    expect(fill.signal?.aborted).toBe(false);
    const s1 = fill.open();
    await fill.promise;
    expect(spare.ready).toBe(true);

    // Handed out as it is, and the next one is on its way.
    expect(await spare.dial()).toBe(s1);
    expect(s1.destroyed).toBe(false);
    await inner.call(2);
    spare.close();
  });

  it('replaces a spare that dies after its minimum lifetime, but one that dies young only after a real dial succeeds', async () => {
    const { inner, clock, spare } = setup();
    spare.fill();
    const s0 = (await inner.call(0)).open();
    await inner.calls[0]!.promise;

    // Lived 1 s (the minimum): a relay blip, replaced at once.
    clock.now += 1_000;
    s0.destroy();
    await once(s0, 'close');
    const s1 = (await inner.call(1)).open();
    await inner.calls[1]!.promise;
    expect(spare.ready).toBe(true);

    // Died after 999 ms: the agent dropping it at once; no new dial in the background.
    clock.now += 999;
    s1.destroy();
    await once(s1, 'close');
    await turn();
    expect(spare.ready).toBe(false);
    expect(inner.calls).toHaveLength(2);

    // A real dial that fails brings nothing back either.
    const failing = spare.dial();
    (await inner.call(2)).fail(noListener());
    await expect(failing).rejects.toMatchObject({ code: 'ARCPROXY_RELAY_NO_LISTENER' });
    await turn();
    expect(inner.calls).toHaveLength(3);

    // One that succeeds does.
    const ok = spare.dial();
    const s3 = (await inner.call(3)).open();
    expect(await ok).toBe(s3);
    const s4 = (await inner.call(4)).open();
    await inner.calls[4]!.promise;
    expect(await spare.dial()).toBe(s4);
    spare.close();
  });

  it('refresh(): a spare dial in flight is discarded when it lands, never handed out, and a new one is opened', async () => {
    const { inner, spare } = setup();
    spare.fill();
    const stale = await inner.call(0);
    spare.refresh(); // the credential changed while the spare was being dialled
    expect(inner.calls).toHaveLength(1); // one spare dial at a time: the new one waits for the old to land
    const old = stale.open();
    await stale.promise; // the spare dialer's own handler has run by now: it was registered first
    expect(old.destroyed).toBe(true);
    expect(spare.ready).toBe(false);

    const fresh = (await inner.call(1)).open();
    await inner.calls[1]!.promise;
    expect(spare.ready).toBe(true);
    expect(await spare.dial()).toBe(fresh);
    spare.close();
  });

  it('refresh(): with no spare and none on the way, opens none', async () => {
    const { inner, spare } = setup();
    spare.refresh();
    await turn();
    expect(inner.calls).toHaveLength(0);
    expect(spare.ready).toBe(false);
  });

  it('close(): destroys the spare, aborts the spare dial in flight and destroys what it brings, and opens no more', async () => {
    const { inner, clock, spare } = setup();
    spare.fill();
    const s0 = (await inner.call(0)).open();
    await inner.calls[0]!.promise;
    spare.close();
    expect(s0.destroyed).toBe(true);
    expect(spare.ready).toBe(false);

    // Real dials still go through, but no spare follows them.
    const dial = spare.dial();
    const s1 = (await inner.call(1)).open();
    expect(await dial).toBe(s1);
    await turn();
    expect(inner.calls).toHaveLength(2);
    spare.fill();
    spare.refresh();
    await turn();
    expect(inner.calls).toHaveLength(2);
    clock.now += 60_000;
    s1.destroy();
    await once(s1, 'close');
    expect(inner.calls).toHaveLength(2);

    // A spare dial in flight at close(): its signal is aborted, and a stream it brings anyway is destroyed.
    const other = setup();
    other.spare.fill();
    const inFlight = await other.inner.call(0);
    other.spare.close();
    expect(inFlight.signal?.aborted).toBe(true);
    const late = inFlight.open();
    await inFlight.promise;
    expect(late.destroyed).toBe(true);
    expect(other.spare.ready).toBe(false);
    expect(other.inner.calls).toHaveLength(1);
  });

  it('never hands out a spare that can no longer carry a request: destroys it and dials', async () => {
    const { inner, spare } = setup();
    spare.fill();
    const s0 = (await inner.call(0)).open();
    await inner.calls[0]!.promise;
    s0.end(); // the write side is gone; no 'close' yet, so it is still the spare
    expect(spare.ready).toBe(true);
    const dial = spare.dial();
    expect(s0.destroyed).toBe(true);
    const s1 = (await inner.call(1)).open();
    expect(await dial).toBe(s1);
    spare.close();
  });

  it('counts a spare’s age from when it opened, not from when its dial began', async () => {
    const { inner, clock, spare } = setup();
    spare.fill();
    const slow = await inner.call(0);
    clock.now = 1_500; // the dial took longer than the minimum lifetime (the relay dialer retried)
    const s0 = slow.open();
    await slow.promise;
    s0.destroy(); // dies at once after opening: young, so not replaced until a real dial succeeds
    await once(s0, 'close');
    await turn();
    expect(inner.calls).toHaveLength(1);
    spare.close();
  });

  it('refresh(): a spare that can no longer carry a request is still replaced', async () => {
    const { inner, spare } = setup();
    spare.fill();
    const s0 = (await inner.call(0)).open();
    await inner.calls[0]!.promise;
    s0.end(); // unusable, but still the spare
    spare.refresh();
    expect(s0.destroyed).toBe(true);
    await inner.call(1);
    spare.close();
  });
});
