/**
 * The tunnel: what turns the proxy's "give me a stream" into a relay WebSocket to the agent. One
 * chain of StreamDialers, stated here once, outermost first:
 *
 *   TunnelHealth    says, once per change, when dials start failing and when they work again
 *   DeferredDialer  lets the listener open (and early requests wait) before the credential is known
 *   WarmSpareDialer hands out a stream opened ahead of time, and opens the next one
 *   RelayDialer     opens relay connections with a current credential, renewed on a timer
 *
 * The proxy sees only `dialer`; the session says when the relay credential is known (`connect`)
 * or could not be had (`fail`).
 */
import type { StreamDialer } from './dialer.js';
import { DeferredDialer } from './deferred-dialer.js';
import { RelayDialer, type RelayDialerOptions } from './relay-dialer.js';
import { TunnelHealth, type TunnelState } from './tunnel-health.js';
import { WarmSpareDialer } from './warm-spare.js';

export interface Tunnel {
  /** The outermost dialer: what the proxy dials. */
  readonly dialer: StreamDialer;
  /** The relay credential is known: build the inner chain, start renewing and let waiting dials through. */
  connect(relay: RelayDialerOptions): RelayDialer;
  /** Start-up failed before the credential was known: waiting and later dials fail with `err`. */
  fail(err: unknown): void;
  /** Opens the warm spare now (start-up opens it alongside the pool's first stream). */
  fillSpare(): void;
  /** Stops the renewal timer and closes the spare; open streams are the proxy's to close. */
  close(): void;
}

export function composeDialer(opts: { onStateChange: (state: TunnelState) => void }): Tunnel {
  const deferred = new DeferredDialer();
  const dialer = new TunnelHealth(deferred, opts.onStateChange);
  let relay: RelayDialer | undefined;
  let spare: WarmSpareDialer | undefined;
  return {
    dialer,
    connect(relayOptions) {
      relay = new RelayDialer(relayOptions);
      const warm = new WarmSpareDialer(relay);
      spare = warm;
      // A spare opened with the old credential would outlive it.
      relay.onCredentialChange(() => warm.refresh());
      deferred.set(warm);
      relay.start();
      return relay;
    },
    fail: (err) => deferred.fail(err),
    fillSpare: () => spare?.fill(),
    close() {
      relay?.close();
      spare?.close();
    },
  };
}
