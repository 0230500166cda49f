import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { TunnelHealth, type TunnelState } from '../../../src/tunnel/tunnel-health.js';
import { ArcproxyError, type ErrorCode } from '../../../src/errors/index.js';
import { manualDialer, type PendingDial } from './fakes.js';

describe('tunnel health reporting', () => {
  it('reports a broken tunnel once per cause, and its recovery once', async () => {
    let fail: ErrorCode | undefined = 'ARCPROXY_RELAY_NO_LISTENER';
    const states: TunnelState[] = [];
    const health = new TunnelHealth(
      {
        dial: async () => {
          if (fail) throw new ArcproxyError(fail, 'relay said no');
          return new PassThrough();
        },
      },
      (s) => states.push(s),
    );
    for (let i = 0; i < 3; i++) await expect(health.dial()).rejects.toThrow('relay said no');
    fail = 'ARCPROXY_RELAY_TIMEOUT';
    await expect(health.dial()).rejects.toThrow();
    fail = undefined;
    await health.dial();
    await health.dial();
    expect(states.map((s) => (s.ok ? 'up' : s.code))).toEqual(['ARCPROXY_RELAY_NO_LISTENER', 'ARCPROXY_RELAY_TIMEOUT', 'up']);
    expect(states[0]).toMatchObject({ ok: false, message: expect.stringContaining('agent is not connected to Azure Relay') });
  });
});

describe('tunnel health: what is and is not a change', () => {
  /** A TunnelHealth over a dialer the test scripts dial by dial. */
  function scripted() {
    const inner = manualDialer();
    const states: TunnelState[] = [];
    const health = new TunnelHealth(inner, (s) => states.push(s));
    const summary = () => states.map((s) => (s.ok ? 'up' : s.code));
    /** Dial number `n` through the health check, settled by `settle`; resolves with the outcome. */
    const dial = async (n: number, settle: (d: PendingDial) => void, signal?: AbortSignal) => {
      const p = health.dial(signal);
      settle(await inner.call(n));
      return p.then(
        (s) => ({ ok: true as const, stream: s }),
        (e: unknown) => ({ ok: false as const, err: e }),
      );
    };
    return { inner, summary, dial };
  }
  const fail = (code: ErrorCode) => (d: PendingDial) => d.fail(new ArcproxyError(code, 'relay said no'));
  const open = (d: PendingDial) => void d.open();

  it('says nothing while dials succeed, and up only after a failure', async () => {
    const { summary, dial } = scripted();
    await dial(0, open);
    await dial(1, open);
    expect(summary()).toEqual([]);
    await dial(2, fail('ARCPROXY_RELAY_NO_LISTENER'));
    await dial(3, open);
    await dial(4, open);
    expect(summary()).toEqual(['ARCPROXY_RELAY_NO_LISTENER', 'up']);
    // The same cause after a recovery is news again.
    await dial(5, fail('ARCPROXY_RELAY_NO_LISTENER'));
    expect(summary()).toEqual(['ARCPROXY_RELAY_NO_LISTENER', 'up', 'ARCPROXY_RELAY_NO_LISTENER']);
  });

  it('passes the caller signal and the very error through, and names a failure without a code', async () => {
    const { inner, summary, dial } = scripted();
    const ac = new AbortController();
    const err = new Error('socket hang up');
    const outcome = await dial(0, (d) => d.fail(err), ac.signal);
    expect(inner.calls[0]!.signal).toBe(ac.signal);
    expect(outcome).toEqual({ ok: false, err });
    expect(summary()).toEqual(['ARCPROXY_TUNNEL_FAILED']);
  });

  it('does not report dials that were aborted, whatever they failed with, nor let them hide a recovery', async () => {
    const { summary, dial } = scripted();
    const aborted = () => {
      const ac = new AbortController();
      ac.abort();
      return ac.signal;
    };
    // kubectl gave up on these: their failures say nothing about the tunnel.
    await dial(0, (d) => d.fail(d.signal!.reason), aborted());
    await dial(1, fail('ARCPROXY_RELAY_TIMEOUT'), aborted());
    expect(summary()).toEqual([]);

    await dial(2, fail('ARCPROXY_RELAY_NO_LISTENER'));
    await dial(3, fail('ARCPROXY_RELAY_TIMEOUT'), aborted());
    // Still failing with NO_LISTENER as far as the user was told: a repeat is no news...
    await dial(4, fail('ARCPROXY_RELAY_NO_LISTENER'));
    expect(summary()).toEqual(['ARCPROXY_RELAY_NO_LISTENER']);
    // ...and the recovery is reported.
    await dial(5, open);
    expect(summary()).toEqual(['ARCPROXY_RELAY_NO_LISTENER', 'up']);
  });
});
