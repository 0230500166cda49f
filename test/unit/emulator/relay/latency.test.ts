/**
 * The relay's latency knob: a delay line keeps order and charges the configured one-way time (fake
 * clock), and through the emulated relay a sender's dial and a round trip take at least what the
 * WAN would charge them (generous lower bounds only, never a performance assertion).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type WebSocket from 'ws';
import { DelayLine } from '../../../../src/emulator/relay/delay-line.js';
import { echoAll, handshake, nextMessage, rawClient, rawListener, startRelayFixture, type RelayFixture } from './relay-fixture.js';

describe('DelayLine', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  function line(delay: { ms: number }, notBefore?: number) {
    const got: string[] = [];
    const l = new DelayLine({
      delayMs: () => delay.ms,
      deliver: (c) => got.push(c.toString()),
      finish: (how) => got.push(`<${how}>`),
      ...(notBefore !== undefined ? { notBefore } : {}),
    });
    return { l, got };
  }

  it('delivers each chunk after the delay, in order, with one timer for the queue', () => {
    vi.useFakeTimers({ now: 1000 });
    const { l, got } = line({ ms: 20 });
    l.push(Buffer.from('a'));
    vi.advanceTimersByTime(5);
    l.push(Buffer.from('b'));
    l.finish('end');
    expect(vi.getTimerCount()).toBe(1);
    expect(l.queuedBytes).toBe(2);
    vi.advanceTimersByTime(14);
    expect(got).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(got).toEqual(['a']);
    vi.advanceTimersByTime(5);
    expect(got).toEqual(['a', 'b', '<end>']);
    expect(l.queuedBytes).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('keeps order when the delay is shortened while bytes are queued', () => {
    vi.useFakeTimers({ now: 0 });
    const delay = { ms: 50 };
    const { l, got } = line(delay);
    l.push(Buffer.from('first'));
    delay.ms = 0;
    l.push(Buffer.from('second'));
    expect(got).toEqual([]);
    vi.advanceTimersByTime(50);
    expect(got).toEqual(['first', 'second']);
  });

  it('passes bytes straight through at 0 ms, and holds them until notBefore', () => {
    vi.useFakeTimers({ now: 0 });
    const zero = line({ ms: 0 });
    zero.l.push(Buffer.from('now'));
    expect(zero.got).toEqual(['now']);
    const gated = line({ ms: 10 }, 30);
    gated.l.push(Buffer.from('hello'));
    vi.advanceTimersByTime(29);
    expect(gated.got).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(gated.got).toEqual(['hello']);
  });

  it('drops what is queued when cleared', () => {
    vi.useFakeTimers({ now: 0 });
    const { l, got } = line({ ms: 10 });
    l.push(Buffer.from('lost'));
    l.clear();
    vi.advanceTimersByTime(100);
    expect(got).toEqual([]);
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe('the relay with a one-way latency', () => {
  const LATENCY = 40;
  let fx: RelayFixture;
  const opened: WebSocket[] = [];
  beforeAll(async () => {
    fx = await startRelayFixture({ latencyMs: LATENCY });
  });
  afterAll(async () => {
    for (const ws of opened) ws.terminate();
    await fx.relay.close();
  });

  it('charges a sender dial its handshakes and a relayed round trip both legs, and counts connections', async () => {
    const before = fx.relay.counters();
    const control = await rawListener(fx);
    opened.push(control);
    echoAll(fx, control);
    const t0 = performance.now();
    const ws = rawClient(fx, fx.url(fx.entry, 'connect', '&sb-hc-id=wan-1'), { ServiceBusAuthorization: fx.sendToken() });
    opened.push(ws);
    expect(await handshake(ws)).toEqual({ opened: true });
    const dialMs = performance.now() - t0;
    // Sender: TCP, TLS and the upgrade request (5 one-way), the accept to the listener (1), the
    // listener's TCP, TLS and accept request (5), the 101 back (1): 12 one-way times at least.
    expect(dialMs).toBeGreaterThanOrEqual(12 * LATENCY - 5);

    const payloads = ['one', 'two', 'three'];
    const echoed: string[] = [];
    const all = new Promise<void>((resolve) =>
      ws.on('message', (d) => {
        echoed.push(d.toString());
        if (echoed.length === payloads.length) resolve();
      }),
    );
    const t1 = performance.now();
    for (const p of payloads) ws.send(p);
    await all;
    // Sender -> relay -> listener and back: 4 one-way times; order kept.
    expect(performance.now() - t1).toBeGreaterThanOrEqual(4 * LATENCY - 5);
    expect(echoed).toEqual(payloads);

    const after = fx.relay.counters();
    expect(after.relayedConnections - before.relayedConnections).toBe(1);
    expect(after.controlChannels - before.controlChannels).toBe(1);
    // Control channel, sender, rendezvous.
    expect(after.tcpConnections - before.tcpConnections).toBe(3);
  });

  it('applies a changed latency to open connections, and 0 ms removes it', async () => {
    const ws = opened[1]!;
    fx.relay.faults.setLatency(0);
    const echoed = nextMessage(ws);
    ws.send('fast');
    expect((await echoed).data.toString()).toBe('fast');
    fx.relay.faults.setLatency(LATENCY);
    const t1 = performance.now();
    const again = nextMessage(ws);
    ws.send('slow');
    expect((await again).data.toString()).toBe('slow');
    expect(performance.now() - t1).toBeGreaterThanOrEqual(4 * LATENCY - 5);
    expect(() => fx.relay.faults.setLatency(-1)).toThrow(RangeError);
  });
});

describe('the relay without a latency set', () => {
  it('cuts direct connections when a latency is set, so clients reconnect through the delay', async () => {
    const fx = await startRelayFixture();
    try {
      const control = await rawListener(fx);
      const closed = new Promise<number>((resolve) => control.once('close', (code) => resolve(code)));
      fx.relay.faults.setLatency(10);
      expect(await closed).toBe(1006);
      const again = await rawListener(fx);
      again.terminate();
      expect(fx.relay.counters().tcpConnections).toBe(2);
    } finally {
      await fx.relay.close();
    }
  });
});
