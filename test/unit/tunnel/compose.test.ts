/**
 * composeDialer's chain as the session uses it (TunnelHealth → DeferredDialer → WarmSpareDialer →
 * RelayDialer), over a fake relay handshake (RelayDialerOptions.connect: no network) and a fake
 * clock for the renewal timer.
 */
import { EventEmitter } from 'node:events';
import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { composeDialer, type Tunnel } from '../../../src/tunnel/compose.js';
import type { TunnelState } from '../../../src/tunnel/tunnel-health.js';
import type { RelayDialerOptions } from '../../../src/tunnel/relay-dialer.js';
import type { RelayCredential } from '../../../src/azure/arm.js';
import type { CloudProfile } from '../../../src/net/cloud-profile.js';
import type { RelayConnectOptions, RelayConnection } from '../../../src/relay/sender.js';
import { RelayError } from '../../../src/relay/errors.js';
import { ArcproxyError } from '../../../src/errors/index.js';
import { turn } from './fakes.js';

// Only the clock and the timers the renewal uses: setImmediate stays real, for turn().
beforeEach(() => {
  vi.useFakeTimers({ now: 1_000_000, toFake: ['setTimeout', 'clearTimeout', 'Date'] });
});
afterEach(() => {
  vi.useRealTimers();
});

const cloud = { relaySuffix: 'servicebus.test', hostMap: {} } as unknown as CloudProfile;

function credential(n: number, lifetimeMs: number): RelayCredential {
  return { relay: 'r', hybridConnectionName: 'hc', token: `SharedAccessSignature sig=${n}`, expiresOn: new Date(Date.now() + lifetimeMs) };
}

/**
 * The relay handshake, answered at once: a PassThrough per connection, or NO_LISTENER while the
 * agent is offline. With no network or timer in the way, everything the chain does after a dial
 * is promise work, which one turn() of the event loop settles.
 */
function fakeRelay() {
  const relay = {
    online: true,
    connects: [] as RelayConnectOptions[],
    streams: [] as PassThrough[],
    get tokens() {
      return relay.connects.map((c) => c.token.replace('SharedAccessSignature ', ''));
    },
    async connect(opts: RelayConnectOptions): Promise<RelayConnection> {
      relay.connects.push(opts);
      if (!relay.online) throw new RelayError('ARCPROXY_RELAY_NO_LISTENER', 'no listener', { httpStatus: 404 });
      const stream = new PassThrough();
      relay.streams.push(stream);
      return { ws: new EventEmitter() as never, stream, close: () => stream.destroy() };
    },
  };
  return relay;
}

/** A tunnel, its reported states, a fake relay and connect() options with a renewal that counts. */
function setup(lifetimeMs = 600_000) {
  const states: TunnelState[] = [];
  const tunnel: Tunnel = composeDialer({ onStateChange: (s) => states.push(s) });
  const relay = fakeRelay();
  let n = 1;
  const renewals = { count: 0 };
  const options: RelayDialerOptions = {
    cloud,
    initial: credential(1, lifetimeMs),
    renew: async () => {
      renewals.count++;
      return credential(++n, lifetimeMs);
    },
    connect: (o) => relay.connect(o),
    // A failed dial is answered at once, not retried on a (fake) timer.
    dialRetry: { noListenerBudgetMs: 0 },
  };
  const summary = () => states.map((s) => (s.ok ? 'up' : s.code));
  return { tunnel, relay, options, renewals, summary };
}

describe('composeDialer', () => {
  it('holds dials until connect(), then lets them through the relay with the credential, a spare following', async () => {
    const { tunnel, relay, options, summary } = setup();
    let early = false;
    const dial = tunnel.dialer.dial().then((s) => {
      early = true;
      return s;
    });
    await turn();
    expect(early).toBe(false);
    expect(relay.connects).toHaveLength(0);

    tunnel.connect(options);
    expect(await dial).toBe(relay.streams[0]);
    expect(relay.connects[0]).toMatchObject({ relayHost: 'r.servicebus.test', hybridConnectionName: 'hc', token: 'SharedAccessSignature sig=1' });

    // The first successful dial opens the spare; the next request gets it and a new spare is opened.
    await turn();
    expect(relay.streams).toHaveLength(2);
    expect(await tunnel.dialer.dial()).toBe(relay.streams[1]);
    await turn();
    expect(relay.streams).toHaveLength(3);
    expect(relay.tokens).toEqual(['sig=1', 'sig=1', 'sig=1']);
    expect(summary()).toEqual([]);
    tunnel.close();
  });

  it('replaces the spare when the credential changes, by hand or on the renewal timer', async () => {
    const { tunnel, relay, options, renewals } = setup(9_000);
    const relayDialer = tunnel.connect(options);
    tunnel.fillSpare();
    await turn();
    expect(relay.tokens).toEqual(['sig=1']);
    const first = relay.streams[0]!;

    await relayDialer.renew();
    await turn();
    expect(first.destroyed).toBe(true);
    expect(relay.tokens).toEqual(['sig=1', 'sig=2']);

    // The timer renews 3 s (a third of the 9 s lifetime) before expiry.
    const second = relay.streams[1]!;
    await vi.advanceTimersByTimeAsync(5_999);
    expect(renewals.count).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(renewals.count).toBe(2);
    await turn();
    expect(second.destroyed).toBe(true);
    expect(relay.tokens).toEqual(['sig=1', 'sig=2', 'sig=3']);

    // What a request gets is the spare opened with the newest credential.
    expect(await tunnel.dialer.dial()).toBe(relay.streams[2]);
    tunnel.close();
  });

  it('fail(): waiting and later dials reject with the start-up error, reported once as the tunnel state', async () => {
    const { tunnel, summary } = setup();
    const err = new ArcproxyError('ARCPROXY_FORBIDDEN', 'no role on the cluster');
    const waiting = tunnel.dialer.dial();
    tunnel.fail(err);
    await expect(waiting).rejects.toBe(err);
    await expect(tunnel.dialer.dial()).rejects.toBe(err);
    expect(summary()).toEqual(['ARCPROXY_FORBIDDEN']);
    // Nothing was built to fill or close.
    tunnel.fillSpare();
    tunnel.close();
  });

  it('reports the tunnel down once while the agent is offline, and up when it is back', async () => {
    const { tunnel, relay, options, summary } = setup();
    tunnel.connect(options);
    // The agent was reached through this credential: from now on "no listener" means it is offline.
    await tunnel.dialer.dial();
    await turn();
    // Offline: the listener and every stream through it are gone (the spare too).
    relay.online = false;
    for (const s of relay.streams) s.destroy();
    await expect(tunnel.dialer.dial()).rejects.toMatchObject({ code: 'ARCPROXY_RELAY_NO_LISTENER' });
    await expect(tunnel.dialer.dial()).rejects.toMatchObject({ code: 'ARCPROXY_RELAY_NO_LISTENER' });
    expect(summary()).toEqual(['ARCPROXY_RELAY_NO_LISTENER']);
    relay.online = true;
    await tunnel.dialer.dial();
    expect(summary()).toEqual(['ARCPROXY_RELAY_NO_LISTENER', 'up']);
    tunnel.close();
  });

  it('close() stops the renewal timer and destroys the spare; no spare is opened after it', async () => {
    const { tunnel, relay, options, renewals } = setup(9_000);
    tunnel.connect(options);
    tunnel.fillSpare();
    await turn();
    expect(relay.streams).toHaveLength(1);
    expect(vi.getTimerCount()).toBe(1); // the renewal

    tunnel.close();
    expect(relay.streams[0]!.destroyed).toBe(true);
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(renewals.count).toBe(0);

    // Streams the proxy asks for still open (closing them is the proxy's job), with no spare after.
    expect(await tunnel.dialer.dial()).toBe(relay.streams[1]);
    tunnel.fillSpare();
    await turn();
    expect(relay.streams).toHaveLength(2);
  });
});
