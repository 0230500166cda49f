/**
 * Opens relay streams to the cluster agent with a current relay credential. The credential comes
 * from ARM's listClusterUserCredential. Once started, a timer fetches a new one before its
 * expiration time (ARM's expirationTime, itself ahead of the SAS expiry), retrying with backoff
 * when ARM fails; a credential only matters when a connection is opened, so open streams are
 * never touched. A dial that finds the credential expired renews first; a handshake the relay
 * refuses for a stale token renews and retries once. Transient dial failures are retried
 * (dial-retry.ts).
 */
import type { Duplex } from 'node:stream';
import type { CloudProfile } from '../net/cloud-profile.js';
import type { RelayCredential } from '../azure/arm.js';
import { connectToRelay, type RelayConnectOptions, type RelayConnection } from '../relay/sender.js';
import { HYBRID_CONNECTION_GONE, type KeepAliveOptions } from '../relay/stream.js';
import { ArcproxyError } from '../errors/index.js';
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
  /** The relay handshake; tests replace it. */
  connect?: (opts: RelayConnectOptions) => Promise<RelayConnection>;
}

const STALE_TOKEN_CODES = new Set(['ARCPROXY_RELAY_TOKEN_EXPIRED', 'ARCPROXY_RELAY_UNAUTHORIZED']);

export class RelayDialer implements StreamDialer {
  readonly #opts: RelayDialerOptions;
  readonly #now: () => number;
  readonly #scheduler: RefreshScheduler;
  readonly #listeners = new Set<(c: RelayCredential) => void>();
  #credential: RelayCredential;
  #fetchedAtMs: number;
  #renewing: Promise<RelayCredential> | undefined;

  constructor(opts: RelayDialerOptions) {
    this.#opts = opts;
    this.#credential = opts.initial;
    this.#now = opts.now ?? Date.now;
    this.#fetchedAtMs = this.#now();
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
    return this.#credential;
  }

  /** When the current credential should be replaced: ahead of expiresOn by 5 minutes or a third of its lifetime. */
  get renewDueAtMs(): number {
    const expires = this.#credential.expiresOn.getTime();
    return expires - refreshMarginMs(expires - this.#fetchedAtMs);
  }

  /** Starts renewing the credential in the background. */
  start(): void {
    this.#scheduler.start();
  }

  close(): void {
    this.#scheduler.stop();
    this.#listeners.clear();
  }

  /** Calls `listener` with each new credential; returns the unsubscribe function. */
  onCredentialChange(listener: (c: RelayCredential) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  renew(): Promise<RelayCredential> {
    if (!this.#renewing) {
      this.#renewing = this.#opts
        .renew()
        .then((c) => {
          this.#credential = c;
          this.#fetchedAtMs = this.#now();
          this.#opts.onRenewed?.(c);
          for (const l of [...this.#listeners]) l(c);
          return c;
        })
        .finally(() => {
          this.#renewing = undefined;
        });
    }
    return this.#renewing;
  }

  dial(signal?: AbortSignal): Promise<Duplex> {
    return dialWithRetry(() => this.#dialOnce(signal), signal, {
      ...(this.#opts.random ? { random: this.#opts.random } : {}),
      ...this.#opts.dialRetry,
    });
  }

  async #dialOnce(signal?: AbortSignal): Promise<Duplex> {
    if (this.#now() >= this.#credential.expiresOn.getTime()) await this.renew();
    try {
      return await this.#connect(signal);
    } catch (err) {
      if (err instanceof ArcproxyError && STALE_TOKEN_CODES.has(err.code)) {
        await this.renew();
        return this.#connect(signal);
      }
      throw err;
    }
  }

  async #connect(signal?: AbortSignal): Promise<Duplex> {
    const c = this.#credential;
    const connection = await (this.#opts.connect ?? connectToRelay)({
      relayHost: `${c.relay}.${this.#opts.cloud.relaySuffix}`,
      hybridConnectionName: c.hybridConnectionName,
      token: c.token,
      cloud: this.#opts.cloud,
      ...(signal ? { signal } : {}),
      ...(this.#opts.keepAlive !== undefined ? { keepAlive: this.#opts.keepAlive } : {}),
      ...(this.#opts.correlationId ? { correlationId: this.#opts.correlationId } : {}),
    });
    // 1001: the hybrid connection was deleted or disabled. Its credential is no use any more,
    // whatever its expiry says: fetch the next one now, so the next dial finds the new one.
    connection.ws.once('close', (code: number) => {
      if (code === HYBRID_CONNECTION_GONE && this.#credential === c) void this.renew().catch(() => undefined);
    });
    return connection.stream;
  }
}
