/** The npx parent watch: only under npm exec, and it fires once when the parent pid changes. */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { watchParent } from '../../../src/cli/parent-watch.js';

afterEach(() => vi.useRealTimers());

describe('watchParent', () => {
  it('under npm exec, stops once when arcproxy is re-parented', () => {
    vi.useFakeTimers();
    let ppid = 4242;
    const onParentGone = vi.fn();
    const stop = watchParent({ env: { npm_command: 'exec' }, ppid: () => ppid, onParentGone, intervalMs: 100 });
    vi.advanceTimersByTime(1_000);
    expect(onParentGone).not.toHaveBeenCalled();
    ppid = 1;
    vi.advanceTimersByTime(100);
    expect(onParentGone).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(1_000);
    expect(onParentGone).toHaveBeenCalledTimes(1);
    stop();
  });

  it('started any other way (or already orphaned), never stops arcproxy', () => {
    vi.useFakeTimers();
    let ppid = 4242;
    const onParentGone = vi.fn();
    const stops = [
      watchParent({ env: {}, ppid: () => ppid, onParentGone, intervalMs: 100 }),
      watchParent({ env: { npm_command: 'run-script' }, ppid: () => ppid, onParentGone, intervalMs: 100 }),
    ];
    ppid = 1;
    stops.push(watchParent({ env: { npm_command: 'exec' }, ppid: () => ppid, onParentGone, intervalMs: 100 }));
    ppid = 77;
    vi.advanceTimersByTime(1_000);
    expect(onParentGone).not.toHaveBeenCalled();
    for (const stop of stops) stop();
  });
});
