/**
 * Opens relay streams to the cluster agent with a current relay credential. The credential comes
 * from ARM's listClusterUserCredential and names a hybrid connection of its own: Azure makes a new
 * one for every credential, deletes it at ARM's expirationTime, and the agent starts listening on
 * it only once the Guest Notification Service has told it, some time after the ARM call. So:
 *  - a credential nobody has reached the agent through yet gets a bounded wait for its listener
 *    ("no listener" retried with backoff for up to listenerWaitMs after it was fetched, reported
 *    once through onListenerWait), then ARCPROXY_RELAY_LISTENER_TIMEOUT, which says what to do;
 *  - a timer fetches the next credential ahead of expirationTime (retrying with backoff when ARM
 *    fails), and new dials move to it once a stream through it has opened (that first stream is
 *    handed to the next dial), or at the latest when the old one expires or is gone;
 *  - a relay connection closed with 1001 means its hybrid connection was deleted: the credential
 *    is no use any more and the next one is fetched at once.
 * Open streams are never touched by a renewal. A dial that finds the credential expired renews
 * first; a handshake refused for a stale token renews and retries once. Transient dial failures
 * are retried (dial-retry.ts).
 */
import type { Duplex } from 'node:stream';
import type { CloudProfile } from '../net/cloud-profile.js';
import type { RelayCredential } from '../azure/arm.js';
import { connectToRelay, type RelayConnectOptions, type RelayConnection } from '../relay/sender.js';
import { HYBRID_CONNECTION_GONE, type KeepAliveOptions } from '../relay/stream.js';
import { ArcproxyError, errorCodeOf } from '../errors/index.js';
import { RelayError } from '../relay/errors.js';
import type { StreamDialer } from './dialer.js';
import type { BackoffPolicy } from './backoff.js';
import { dialWithRetry, type DialRetryOptions } from './dial-retry.js';
import { RefreshScheduler, refreshMarginMs } from './refresh-scheduler.js';

export interface RelayDialerOptions {
  cloud: CloudProfile;
  initial: RelayCredential;
  /** Fetches a fresh relay credential from ARM. */
  renew: () => Promise<RelayCredential>;
  now?: () => number;
  /** A new credential is in use. Never log `token`. */
  onRenewed?: (c: RelayCredential) => void;
  /** A background renewal failed; the next attempt follows after `retryInMs`. */
  onRenewError?: (err: unknown, retryInMs: number) => void;
  renewRetry?: BackoffPolicy;
  dialRetry?: DialRetryOptions;
  keepAlive?: KeepAliveOptions | false;
  random?: () => number;
  /** The session's id for the relay handshake's tracing header. */
  correlationId?: string;
  /** How long a new credential's hybrid connection may stay without a listener. Default LISTENER_WAIT_MS. */
  listenerWaitMs?: number;
  /** Dials are waiting for the agent to listen on a new hybrid connection (once per credential). */
  onListenerWait?: (wait: ListenerWait) => void;
  /** The relay handshake; tests replace it. */
  connect?: (opts: RelayConnectOptions) => Promise<RelayConnection>;
}

export interface ListenerWait {
  hybridConnectionName: string;
  /** How long dials keep waiting for it (ms, from now). */
  upToMs: number;
  /** A renewal (the old credential still serves dials meanwhile) rather than the first credential or a lost one. */
  renewal: boolean;
}

/** How long the agent gets to start listening on a new hybrid connection: how long Azure takes to tell it is not public. */
export const LISTENER_WAIT_MS = 30_000;

/** One credential and what dials have learnt about its hybrid connection. */
interface Held {
  credential: RelayCredential;
  fetchedAtMs: number;
  /** A stream through it has opened: its listener is (or was) there. */
  listening: boolean;
  waitReported: boolean;
  /** Aborted once it is no use: a connection through it closed with 1001 (its hybrid connection was deleted), or its token was refused. */
  gone: AbortController;
}

const STALE_TOKEN_CODES = new Set(['ARCPROXY_RELAY_TOKEN_EXPIRED', 'ARCPROXY_RELAY_UNAUTHORIZED']);

export class RelayDialer implements StreamDialer {
  readonly #opts: RelayDialerOptions;
  readonly #now: () => number;
  readonly #scheduler: RefreshScheduler;
  readonly #listeners = new Set<(c: RelayCredential) => void>();
  readonly #closed = new AbortController();
  #held: Held;
  #renewing: Promise<RelayCredential> | undefined;
  /** The stream that proved a renewed credential's listener, for the next dial. */
  #proven: Duplex | undefined;
  /** Which credential each stream was opened with. */
  readonly #openedWith = new WeakMap<Duplex, Held>();

  constructor(opts: RelayDialerOptions) {
    this.#opts = opts;
    this.#now = opts.now ?? Date.now;
    this.#held = this.#hold(opts.initial);
    this.#scheduler = new RefreshScheduler({
      dueAt: () => this.renewDueAtMs,
      refresh: () => this.renew(),
      now: this.#now,
      ...(opts.onRenewError ? { onError: opts.onRenewError } : {}),
      ...(opts.renewRetry ? { retry: opts.renewRetry } : {}),
      ...(opts.random ? { random: opts.random } : {}),
    });
  }

  get credential(): RelayCredential {
    return this.#held.credential;
  }

  /** When the current credential should be replaced: ahead of expiresOn by 5 minutes or a third of its lifetime. */
  get renewDueAtMs(): number {
    const expires = this.#held.credential.expiresOn.getTime();
    return expires - refreshMarginMs(expires - this.#held.fetchedAtMs);
  }

  /** Starts renewing the credential in the background. */
  start(): void {
    this.#scheduler.start();
  }

  close(): void {
    this.#closed.abort();
    this.#scheduler.stop();
    this.#listeners.clear();
    this.#proven?.destroy();
    this.#proven = undefined;
  }

  /** A stream opened with a credential that has since been replaced: its hybrid connection is on the way out. */
  retired(stream: Duplex): boolean {
    const held = this.#openedWith.get(stream);
    return held !== undefined && held !== this.#held;
  }

  /** Calls `listener` with each new credential; returns the unsubscribe function. */
  onCredentialChange(listener: (c: RelayCredential) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Fetches the next credential. While the current one still works, dials stay on it until the
   * agent listens on the new hybrid connection (or the current one expires); then they move.
   */
  renew(): Promise<RelayCredential> {
    this.#renewing ??= this.#renewAndSwitch().finally(() => {
      this.#renewing = undefined;
    });
    return this.#renewing;
  }

  async #renewAndSwitch(): Promise<RelayCredential> {
    const next = this.#hold(await this.#opts.renew());
    const old = this.#held;
    if (!this.#closed.signal.aborted && this.#usable(old)) await this.#awaitListener(next, old);
    this.#held = next;
    this.#opts.onRenewed?.(next.credential);
    for (const l of [...this.#listeners]) l(next.credential);
    return next.credential;
  }

  /** Opens one stream through `next` while `old` still serves; keeps it for the next dial. */
  async #awaitListener(next: Held, old: Held): Promise<void> {
    const untilMs = Math.min(next.fetchedAtMs + this.#listenerWaitMs, old.credential.expiresOn.getTime());
    const signal = AbortSignal.any([this.#closed.signal, old.gone.signal]);
    try {
      const stream = await dialWithRetry(() => this.#connect(next, signal, true), signal, this.#retryOptions(Math.max(0, untilMs - this.#now())));
      if (this.#closed.signal.aborted) stream.destroy();
      else {
        this.#proven?.destroy();
        this.#proven = stream;
        stream.on('error', ignore);
      }
    } catch {
      // No listener before the old one ran out (or it was deleted): move anyway; dials on the
      // new one wait for its listener as on a first credential.
    }
  }

  async dial(signal?: AbortSignal): Promise<Duplex> {
    const proven = this.#takeProven();
    if (proven) return proven;
    for (;;) {
      const held = this.#held;
      try {
        return await dialWithRetry(() => this.#dialOnce(signal), signal, this.#retryOptions(this.#noListenerBudgetMs(held)));
      } catch (err) {
        // The credential changed under the dial (it had expired, or its hybrid connection went):
        // the new one gets its own wait for a listener.
        const now = this.#held;
        if (now !== held && !now.listening && !signal?.aborted && errorCodeOf(err) === 'ARCPROXY_RELAY_NO_LISTENER') continue;
        throw this.#explain(err, now);
      }
    }
  }

  get #listenerWaitMs(): number {
    return this.#opts.listenerWaitMs ?? LISTENER_WAIT_MS;
  }

  #hold(credential: RelayCredential): Held {
    return { credential, fetchedAtMs: this.#now(), listening: false, waitReported: false, gone: new AbortController() };
  }

  #usable(held: Held): boolean {
    return !held.gone.signal.aborted && this.#now() < held.credential.expiresOn.getTime();
  }

  #retryOptions(noListenerBudgetMs: number): DialRetryOptions {
    return { ...(this.#opts.random ? { random: this.#opts.random } : {}), ...this.#opts.dialRetry, noListenerBudgetMs };
  }

  /** No listener: a short wait once the agent has been reached through this credential, else until its listener is due. */
  #noListenerBudgetMs(held: Held): number {
    const base = this.#opts.dialRetry?.noListenerBudgetMs ?? 400;
    return held.listening ? base : Math.max(base, held.fetchedAtMs + this.#listenerWaitMs - this.#now());
  }

  /** "No listener" after the whole wait on a new hybrid connection is a failure of its own. */
  #explain(err: unknown, held: Held): unknown {
    if (errorCodeOf(err) !== 'ARCPROXY_RELAY_NO_LISTENER' || held.listening || this.#now() < held.fetchedAtMs + this.#listenerWaitMs) return err;
    return new RelayError(
      'ARCPROXY_RELAY_LISTENER_TIMEOUT',
      `The cluster's agent is not connected to Azure Relay: it did not start listening on the hybrid connection ARM issued ` +
        `(${held.credential.hybridConnectionName}) within ${Math.round(this.#listenerWaitMs / 1000)} s. Azure tells the agent about each new hybrid connection through its Guest ` +
        'Notification Service: check that the Azure Arc agents are running and can reach guestnotificationservice.azure.com ' +
        '(kubectl -n azure-arc get pods on the cluster, `az connectedk8s show` for connectivityStatus), then retry.',
      { cause: err },
    );
  }

  #takeProven(): Duplex | undefined {
    const stream = this.#proven;
    this.#proven = undefined;
    if (!stream) return undefined;
    stream.off('error', ignore);
    if (!stream.destroyed && stream.writable && !stream.readableEnded) return stream;
    stream.destroy();
    return undefined;
  }

  async #dialOnce(signal?: AbortSignal): Promise<Duplex> {
    if (!this.#usable(this.#held)) await this.renew();
    const held = this.#held;
    try {
      return await this.#connect(held, signal, false);
    } catch (err) {
      if (err instanceof ArcproxyError && STALE_TOKEN_CODES.has(err.code)) {
        // The relay refuses its token: no use waiting on it for the next one's listener.
        held.gone.abort();
        await this.renew();
        return this.#connect(this.#held, signal, false);
      }
      throw err;
    }
  }

  async #connect(held: Held, signal: AbortSignal | undefined, renewal: boolean): Promise<Duplex> {
    const c = held.credential;
    let connection: RelayConnection;
    try {
      connection = await (this.#opts.connect ?? connectToRelay)({
        relayHost: `${c.relay}.${this.#opts.cloud.relaySuffix}`,
        hybridConnectionName: c.hybridConnectionName,
        token: c.token,
        cloud: this.#opts.cloud,
        ...(signal ? { signal } : {}),
        ...(this.#opts.keepAlive !== undefined ? { keepAlive: this.#opts.keepAlive } : {}),
        ...(this.#opts.correlationId ? { correlationId: this.#opts.correlationId } : {}),
      });
    } catch (err) {
      if (errorCodeOf(err) === 'ARCPROXY_RELAY_NO_LISTENER' && !held.listening && !held.waitReported) {
        held.waitReported = true;
        this.#opts.onListenerWait?.({
          hybridConnectionName: c.hybridConnectionName,
          upToMs: Math.max(0, held.fetchedAtMs + this.#listenerWaitMs - this.#now()),
          renewal,
        });
      }
      throw err;
    }
    held.listening = true;
    this.#openedWith.set(connection.stream, held);
    // 1001: the hybrid connection was deleted or disabled. Its credential is no use any more,
    // whatever its expiry says: fetch the next one now, so the next dial finds the new one.
    connection.ws.once('close', (code: number) => {
      if (code !== HYBRID_CONNECTION_GONE || held.gone.signal.aborted) return;
      held.gone.abort();
      if (this.#held === held && !this.#closed.signal.aborted) void this.renew().catch(() => undefined);
    });
    return connection.stream;
  }
}

const ignore = (): void => undefined;
