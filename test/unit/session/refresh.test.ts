/** Proactive refresh of the Entra token and the relay credential, on a fake clock. */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { AccessToken, TokenCredential } from '@azure/identity';
import { EventEmitter } from 'node:events';
import { PassThrough, type Duplex } from 'node:stream';
import { EntraTokenSource } from '../../../src/session/entra-token.js';
import { RelayDialer } from '../../../src/tunnel/relay-dialer.js';
import { RefreshScheduler, refreshMarginMs } from '../../../src/tunnel/refresh-scheduler.js';
import { backoffDelay } from '../../../src/tunnel/backoff.js';
import type { RelayCredential } from '../../../src/azure/arm.js';
import type { CloudProfile } from '../../../src/net/cloud-profile.js';
import type { RelayConnectOptions, RelayConnection } from '../../../src/relay/sender.js';
import { RelayError } from '../../../src/relay/errors.js';

beforeEach(() => {
  vi.useFakeTimers({ now: 1_000_000 });
});
afterEach(() => {
  vi.useRealTimers();
});

/** Issues tokens of `lifetimeMs`, or fails while `failing` is set. */
function fakeCredential(lifetimeMs: number) {
  const state = { calls: 0, failing: false };
  const credential: TokenCredential = {
    getToken: async (): Promise<AccessToken> => {
      state.calls++;
      if (state.failing) throw new Error('AADSTS50000: Entra is down');
      return { token: `token-${state.calls}`, expiresOnTimestamp: Date.now() + lifetimeMs };
    },
  };
  return { credential, state };
}

describe('backoff', () => {
  it('grows exponentially to the cap, jittered between half and all of it', () => {
    const policy = { initialMs: 100, maxMs: 1_000 };
    expect([0, 1, 2, 3, 4].map((n) => backoffDelay(n, policy, () => 0.999999))).toEqual([100, 200, 400, 800, 1000]);
    expect([0, 1, 2, 3, 4].map((n) => backoffDelay(n, policy, () => 0))).toEqual([50, 100, 200, 400, 500]);
  });
});

describe('EntraTokenSource', () => {
  it('refreshes 5 minutes before expiry, or a third of a short lifetime', () => {
    expect(refreshMarginMs(3_600_000)).toBe(300_000);
    expect(refreshMarginMs(6_000)).toBe(2_000);
  });

  it('refreshes on a timer ahead of expiry, reports each new expiry, and stops on close', async () => {
    const { credential, state } = fakeCredential(6_000);
    const refreshed: number[] = [];
    const source = new EntraTokenSource(credential, 'scope', { onRefresh: (t) => refreshed.push(t.expiresOnMs) });
    expect(await source.getToken()).toBe('token-1');
    source.start();
    // Due 2 s before the 6 s expiry: nothing at 3.9 s, a new token at 4 s.
    await vi.advanceTimersByTimeAsync(3_900);
    expect(state.calls).toBe(1);
    await vi.advanceTimersByTimeAsync(100);
    expect(state.calls).toBe(2);
    expect(refreshed).toEqual([1_004_000 + 6_000]);
    // Requests are answered from memory, never waiting on Entra.
    expect(await source.getToken()).toBe('token-2');
    await vi.advanceTimersByTimeAsync(4_000 * 3);
    expect(state.calls).toBe(5);
    source.close();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(state.calls).toBe(5);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('retries a failed refresh with backoff while the old token is still served', async () => {
    const { credential, state } = fakeCredential(60_000);
    const errors: number[] = [];
    const source = new EntraTokenSource(credential, 'scope', { onRefreshError: (_e, wait) => errors.push(wait), random: () => 0.999999 });
    await source.getToken();
    source.start();
    state.failing = true;
    await vi.advanceTimersByTimeAsync(40_000); // due at 40 s (a third of 60 s before expiry)
    expect(state.calls).toBe(2);
    expect(errors).toEqual([1_000]);
    expect(await source.getToken()).toBe('token-1');
    await vi.advanceTimersByTimeAsync(1_000 + 2_000);
    expect(errors).toEqual([1_000, 2_000, 4_000]);
    state.failing = false;
    await vi.advanceTimersByTimeAsync(4_000);
    expect(await source.getToken()).toBe(`token-${state.calls}`);
    expect(source.expiresOnMs).toBeGreaterThan(Date.now() + 50_000);
    source.close();
  });
});

describe('RefreshScheduler', () => {
  it('never spins when a refresh returns a value that is already due', async () => {
    let runs = 0;
    const s = new RefreshScheduler({ dueAt: () => Date.now() - 1, refresh: async () => void runs++ });
    s.start();
    await vi.advanceTimersByTimeAsync(5_000);
    expect(runs).toBeLessThanOrEqual(6);
    s.stop();
  });
});

const cloud = { relaySuffix: 'servicebus.test', hostMap: {} } as unknown as CloudProfile;

function credential(n: number, lifetimeMs: number): RelayCredential {
  return { relay: 'r', hybridConnectionName: 'hc', token: `SharedAccessSignature sig=${n}`, expiresOn: new Date(Date.now() + lifetimeMs) };
}

function fakeConnect(script: (opts: RelayConnectOptions) => void) {
  const tokens: string[] = [];
  const streams: Duplex[] = [];
  /** Stand-ins for each connection's WebSocket: a test emits 'close' with a code on them. */
  const sockets: EventEmitter[] = [];
  const connect = async (opts: RelayConnectOptions): Promise<RelayConnection> => {
    tokens.push(opts.token);
    script(opts);
    const stream = new PassThrough();
    streams.push(stream);
    const ws = new EventEmitter();
    sockets.push(ws);
    return { ws: ws as never, stream, close: () => stream.destroy() };
  };
  return { connect, tokens, streams, sockets };
}

describe('RelayDialer', () => {
  it('renews at once when the relay says the hybrid connection is gone (close 1001), and only then', async () => {
    let n = 1;
    const { connect, sockets, tokens } = fakeConnect(() => undefined);
    const dialer = new RelayDialer({ cloud, initial: credential(1, 3_600_000), renew: async () => credential(++n, 3_600_000), connect });
    await dialer.dial();
    await dialer.dial();
    sockets[0]!.emit('close', 1000);
    await vi.advanceTimersByTimeAsync(0);
    expect(n).toBe(1);
    sockets[1]!.emit('close', 1001);
    await vi.advanceTimersByTimeAsync(0);
    expect(n).toBe(2);
    await dialer.dial();
    expect(tokens.at(-1)).toBe('SharedAccessSignature sig=2');
    dialer.close();
  });

  it('renews the credential before expiresOn, with backoff when ARM fails, and leaves open streams alone', async () => {
    let n = 1;
    let armDown = false;
    const renewed: RelayCredential[] = [];
    const errors: unknown[] = [];
    const { connect, tokens, streams } = fakeConnect(() => undefined);
    const dialer = new RelayDialer({
      cloud,
      initial: credential(1, 9_000),
      renew: async () => {
        if (armDown) throw Object.assign(new Error('429'), { code: 'ARCPROXY_ARM_UNAVAILABLE' });
        return credential(++n, 9_000);
      },
      onRenewed: (c) => renewed.push(c),
      onRenewError: (e) => errors.push(e),
      connect,
      random: () => 0.999999,
    });
    const changes: string[] = [];
    dialer.onCredentialChange((c) => changes.push(c.token));
    const open = await dialer.dial();
    dialer.start();
    await vi.advanceTimersByTimeAsync(5_999); // due 3 s (a third) before expiresOn
    expect(renewed).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(renewed).toHaveLength(1);
    expect(changes).toEqual(['SharedAccessSignature sig=2']);
    expect(open.destroyed).toBe(false);
    await dialer.dial();
    expect(tokens).toEqual(['SharedAccessSignature sig=1', 'SharedAccessSignature sig=2']);

    armDown = true;
    await vi.advanceTimersByTimeAsync(6_000);
    expect(errors).toHaveLength(1);
    armDown = false;
    await vi.advanceTimersByTimeAsync(1_000);
    expect(renewed).toHaveLength(2);
    expect(streams.every((s) => !s.destroyed)).toBe(true);
    dialer.close();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(renewed).toHaveLength(2);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('recovers a handshake refused for a stale token by renewing and retrying once', async () => {
    for (const code of ['ARCPROXY_RELAY_TOKEN_EXPIRED', 'ARCPROXY_RELAY_UNAUTHORIZED'] as const) {
      let renewals = 0;
      const { connect, tokens } = fakeConnect((opts) => {
        if (opts.token.endsWith('sig=1')) throw new RelayError(code, 'refused');
      });
      const dialer = new RelayDialer({ cloud, initial: credential(1, 600_000), renew: async () => credential(1 + ++renewals, 600_000), connect });
      await dialer.dial();
      expect(renewals).toBe(1);
      expect(tokens).toEqual(['SharedAccessSignature sig=1', 'SharedAccessSignature sig=2']);
    }
  });

  it('renews first when the credential has already expired (the timer was late: a laptop slept)', async () => {
    let renewals = 0;
    const { connect, tokens } = fakeConnect(() => undefined);
    const dialer = new RelayDialer({ cloud, initial: credential(1, -1), renew: async () => credential(1 + ++renewals, 600_000), connect });
    await dialer.dial();
    expect(tokens).toEqual(['SharedAccessSignature sig=2']);
  });
});
