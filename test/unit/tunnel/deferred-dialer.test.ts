/** DeferredDialer: dials made before the relay credential is known wait for the real dialer. */
import { describe, expect, it } from 'vitest';
import { DeferredDialer } from '../../../src/tunnel/deferred-dialer.js';
import { RelayError } from '../../../src/relay/errors.js';
import { manualDialer, turn } from './fakes.js';

/** Tracks whether a promise has settled, without awaiting it. */
function track<T>(p: Promise<T>): { readonly settled: boolean } {
  const state = { settled: false };
  p.then(
    () => (state.settled = true),
    () => (state.settled = true),
  );
  return state;
}

describe('DeferredDialer', () => {
  it('holds dials made before set(), then sends each through the dialer given to set(), signal and all', async () => {
    const deferred = new DeferredDialer();
    const ac = new AbortController();
    const first = deferred.dial(ac.signal);
    const second = deferred.dial();
    const firstState = track(first);
    await turn();
    expect(firstState.settled).toBe(false);

    const inner = manualDialer();
    deferred.set(inner);
    // Both reach the real dialer, each with its own signal, and get its streams.
    const [call0, call1] = await Promise.all([inner.call(0), inner.call(1)]);
    expect(call0.signal).toBe(ac.signal);
    expect(call1.signal).toBeUndefined();
    const a = call0.open();
    const b = call1.open();
    expect(await first).toBe(a);
    expect(await second).toBe(b);

    // Later dials go straight through.
    const third = deferred.dial();
    const c = (await inner.call(2)).open();
    expect(await third).toBe(c);
    expect(inner.calls).toHaveLength(3);
  });

  it('fail(err) rejects waiting dials and every later one with that very error', async () => {
    const deferred = new DeferredDialer();
    const err = new RelayError('ARCPROXY_RELAY_FORBIDDEN', 'no Cluster User role');
    const waiting = deferred.dial();
    deferred.fail(err);
    await expect(waiting).rejects.toBe(err);
    await expect(deferred.dial()).rejects.toBe(err);
    // A dialer set after the failure changes nothing: the outcome is settled once.
    const inner = manualDialer();
    deferred.set(inner);
    await expect(deferred.dial()).rejects.toBe(err);
    expect(inner.calls).toHaveLength(0);
  });

  it('ignores fail() once set(): dials keep going through', async () => {
    const deferred = new DeferredDialer();
    const inner = manualDialer();
    deferred.set(inner);
    deferred.fail(new Error('too late'));
    const dial = deferred.dial();
    const s = (await inner.call(0)).open();
    expect(await dial).toBe(s);
  });

  it('ends a waiting dial at once when its signal aborts, and never hands it to the real dialer', async () => {
    const deferred = new DeferredDialer();
    const ac = new AbortController();
    const dial = deferred.dial(ac.signal);
    ac.abort();
    await expect(dial).rejects.toMatchObject({ name: 'AbortError' });

    const inner = manualDialer();
    deferred.set(inner);
    const later = deferred.dial();
    const call = await inner.call(0);
    // The first real dial is the later one: the aborted dial never reached the dialer.
    expect(call.signal).toBeUndefined();
    const s = call.open();
    expect(await later).toBe(s);
  });

  it('rejects a dial whose signal was already aborted', async () => {
    const ac = new AbortController();
    ac.abort();
    await expect(new DeferredDialer().dial(ac.signal)).rejects.toMatchObject({ name: 'AbortError' });
  });
});
