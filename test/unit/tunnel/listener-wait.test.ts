/**
 * Hybrid connections that change with every credential, as the tunnel chain meets them: a new
 * one has no listener until the agent hears of it, so dials wait for it (bounded, reported once,
 * then a typed error); a renewal moves new dials only once the new one answers, and never hands
 * out a spare opened on the old one; 1001 on the old one means "renew", not a clean end.
 * Fake relay handshake, fake clock.
 */
import { EventEmitter } from 'node:events';
import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { composeDialer } from '../../../src/tunnel/compose.js';
import { LISTENER_WAIT_MS, type ListenerWait, type RelayDialerOptions } from '../../../src/tunnel/relay-dialer.js';
import type { TunnelState } from '../../../src/tunnel/tunnel-health.js';
import { tunnelFailureMessage } from '../../../src/tunnel/failure-message.js';
import type { RelayCredential } from '../../../src/azure/arm.js';
import type { CloudProfile } from '../../../src/net/cloud-profile.js';
import type { RelayConnectOptions, RelayConnection } from '../../../src/relay/sender.js';
import { RelayError } from '../../../src/relay/errors.js';
import { turn } from './fakes.js';

beforeEach(() => {
  vi.useFakeTimers({ now: 1_000_000, toFake: ['setTimeout', 'clearTimeout', 'Date'] });
});
afterEach(() => {
  vi.useRealTimers();
});

const cloud = { relaySuffix: 'servicebus.test', hostMap: {} } as unknown as CloudProfile;

function credential(n: number, lifetimeMs: number): RelayCredential {
  return {
    relay: 'azgnrelay-eastus-l1',
    hybridConnectionName: `hc-${n}`,
    token: `SharedAccessSignature sig=${n}`,
    expiresOn: new Date(Date.now() + lifetimeMs),
  };
}

/** A relay where each hybrid connection has a listener only once `listen(name)` was called. */
function fakeRelay() {
  const listening = new Set<string>();
  const relay = {
    listen: (name: string) => listening.add(name),
    connects: [] as string[],
    streams: [] as { hc: string; stream: PassThrough; ws: EventEmitter }[],
    async connect(opts: RelayConnectOptions): Promise<RelayConnection> {
      relay.connects.push(opts.hybridConnectionName);
      if (!listening.has(opts.hybridConnectionName)) throw new RelayError('ARCPROXY_RELAY_NO_LISTENER', 'Endpoint does not exist.', { httpStatus: 404 });
      const stream = new PassThrough();
      stream.on('error', () => undefined); // the test's own streams end in errors on purpose
      const ws = new EventEmitter();
      relay.streams.push({ hc: opts.hybridConnectionName, stream, ws });
      return { ws: ws as never, stream, close: () => stream.destroy() };
    },
    /** The hybrid connection is deleted: its listener goes, its connections close with 1001. */
    delete(name: string) {
      listening.delete(name);
      for (const s of relay.streams.filter((x) => x.hc === name)) {
        s.ws.emit('close', 1001);
        s.stream.destroy(new RelayError('ARCPROXY_RELAY_CLOSED', 'closed with 1001', { closeCode: 1001 }));
      }
    },
  };
  return relay;
}

function setup(lifetimeMs: number) {
  const relay = fakeRelay();
  const waits: ListenerWait[] = [];
  const states: TunnelState[] = [];
  let n = 1;
  const tunnel = composeDialer({ onStateChange: (s) => states.push(s) });
  const options: RelayDialerOptions = {
    cloud,
    initial: credential(1, lifetimeMs),
    renew: async () => credential(++n, lifetimeMs),
    connect: (o) => relay.connect(o),
    onListenerWait: (w) => waits.push(w),
    random: () => 0.999999,
  };
  return { relay, waits, states, tunnel, options };
}

/** Settles a promise's outcome without letting a rejection go unhandled. */
function outcome<T>(p: Promise<T>): { done: () => boolean; value: () => T | unknown } {
  let settled = false;
  let value: unknown;
  p.then(
    (v) => ((settled = true), (value = v)),
    (e: unknown) => ((settled = true), (value = e)),
  );
  return { done: () => settled, value: () => value };
}

describe('a new hybrid connection without a listener yet', () => {
  it('makes the first dial wait for the listener, reporting the wait once, and go through when it comes', async () => {
    const { relay, waits, states, tunnel, options } = setup(600_000);
    tunnel.connect(options);
    const first = outcome(tunnel.dialer.dial());
    const second = outcome(tunnel.dialer.dial());
    await vi.advanceTimersByTimeAsync(1_500);
    expect(first.done()).toBe(false);
    expect(relay.connects.length).toBeGreaterThan(2); // retried with backoff, not once
    expect(waits).toEqual([{ hybridConnectionName: 'hc-1', upToMs: LISTENER_WAIT_MS, renewal: false }]);
    relay.listen('hc-1');
    await vi.advanceTimersByTimeAsync(1_000);
    expect(first.done() && second.done()).toBe(true);
    expect(relay.streams.map((s) => s.hc)).toContain('hc-1');
    // A wait that ended well never reported the tunnel down.
    expect(states).toEqual([]);
    tunnel.close();
  });

  it('gives up after the wait with ARCPROXY_RELAY_LISTENER_TIMEOUT, which says what to check', async () => {
    const { tunnel, options, states } = setup(600_000);
    tunnel.connect({ ...options, listenerWaitMs: 5_000 });
    const dial = outcome(tunnel.dialer.dial());
    await vi.advanceTimersByTimeAsync(4_900);
    expect(dial.done()).toBe(false);
    await vi.advanceTimersByTimeAsync(1_200);
    expect(dial.done()).toBe(true);
    const err = dial.value() as RelayError;
    expect(err).toBeInstanceOf(RelayError);
    expect(err.code).toBe('ARCPROXY_RELAY_LISTENER_TIMEOUT');
    expect(err.message).toMatch(/hc-1/);
    expect(err.message).toMatch(/Guest Notification Service/);
    expect(err.message).toMatch(/kubectl -n azure-arc get pods/);
    expect(tunnelFailureMessage(err)).toContain('did not start listening');
    expect(states).toEqual([expect.objectContaining({ ok: false, code: 'ARCPROXY_RELAY_LISTENER_TIMEOUT' })]);
    tunnel.close();
  });
});

describe('renewal onto a new hybrid connection', () => {
  it('keeps new dials on the old one until the new one has a listener, then moves them, and never hands out a spare of the old one', async () => {
    const { relay, waits, tunnel, options } = setup(9_000);
    relay.listen('hc-1');
    const relayDialer = tunnel.connect(options);
    await tunnel.dialer.dial();
    await turn();

    // The renewal is due 3 s before expiry; the agent has not heard of hc-2 yet.
    await vi.advanceTimersByTimeAsync(6_000);
    expect(relay.connects).toContain('hc-2');
    expect(relayDialer.credential.hybridConnectionName).toBe('hc-1');
    expect(waits).toEqual([expect.objectContaining({ hybridConnectionName: 'hc-2', renewal: true })]);
    // Meanwhile requests still go through the old one.
    const during = await tunnel.dialer.dial();
    expect(relay.streams.find((s) => s.stream === during)?.hc).toBe('hc-1');
    await turn();
    const oldSpare = relay.streams.at(-1)!;
    expect(oldSpare.hc).toBe('hc-1');
    expect(oldSpare.stream).not.toBe(during);

    relay.listen('hc-2');
    await vi.advanceTimersByTimeAsync(1_000);
    expect(relayDialer.credential.hybridConnectionName).toBe('hc-2');
    // The spare opened on hc-1 was closed at the switch; what the next request gets is on hc-2.
    expect(oldSpare.stream.destroyed).toBe(true);
    await turn();
    const after = await tunnel.dialer.dial();
    expect(relay.streams.find((s) => s.stream === after)?.hc).toBe('hc-2');
    // The pool is told which streams belong to the replaced credential, so it gives them no new request.
    expect(tunnel.dialer.retired?.(during)).toBe(true);
    expect(tunnel.dialer.retired?.(after)).toBe(false);

    // hc-1 is deleted at its expiry: what was open on it ends in an error (1001), not a clean end.
    const ended = outcome(new Promise((resolve, reject) => during.once('end', resolve).once('error', reject)));
    relay.delete('hc-1');
    await turn();
    expect((ended.value() as RelayError).closeCode).toBe(1001);
    tunnel.close();
  });

  it('moves at once when the old hybrid connection is deleted early (1001), and dials wait for the new listener', async () => {
    const { relay, tunnel, options } = setup(600_000);
    relay.listen('hc-1');
    const relayDialer = tunnel.connect(options);
    await tunnel.dialer.dial();
    relay.delete('hc-1');
    await vi.advanceTimersByTimeAsync(0);
    expect(relayDialer.credential.hybridConnectionName).toBe('hc-2');
    const dial = outcome(tunnel.dialer.dial());
    await vi.advanceTimersByTimeAsync(2_000);
    expect(dial.done()).toBe(false);
    relay.listen('hc-2');
    await vi.advanceTimersByTimeAsync(1_000);
    expect(dial.done()).toBe(true);
    expect(relay.streams.find((s) => s.stream === dial.value())?.hc).toBe('hc-2');
    tunnel.close();
  });
});
