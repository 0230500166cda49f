/**
 * Opens relay streams to the cluster agent with a current relay credential. The credential comes
 * from ARM's listClusterUserCredential; it is fetched again before its expiration time, and
 * at once when the relay refuses a stale token (then the dial is retried once).
 */
import type { Duplex } from 'node:stream';
import type { CloudProfile } from '../azure/cloud.js';
import type { RelayCredential } from '../azure/arm.js';
import { connectToRelay } from '../relay/sender.js';
import { ArcproxyError } from '../errors.js';
import type { StreamDialer } from '../proxy/dialer.js';

export interface RelayDialerOptions {
  cloud: CloudProfile;
  initial: RelayCredential;
  /** Fetches a fresh relay credential from ARM. */
  renew: () => Promise<RelayCredential>;
  now?: () => number;
  onRenewed?: (c: RelayCredential) => void;
}

const STALE_TOKEN_CODES = new Set(['ARCPROXY_RELAY_TOKEN_EXPIRED', 'ARCPROXY_RELAY_UNAUTHORIZED']);

export class RelayDialer implements StreamDialer {
  readonly #opts: RelayDialerOptions;
  readonly #now: () => number;
  #credential: RelayCredential;
  #renewing: Promise<RelayCredential> | undefined;

  constructor(opts: RelayDialerOptions) {
    this.#opts = opts;
    this.#credential = opts.initial;
    this.#now = opts.now ?? Date.now;
  }

  get credential(): RelayCredential {
    return this.#credential;
  }

  renew(): Promise<RelayCredential> {
    if (!this.#renewing) {
      this.#renewing = this.#opts
        .renew()
        .then((c) => {
          this.#credential = c;
          this.#opts.onRenewed?.(c);
          return c;
        })
        .finally(() => {
          this.#renewing = undefined;
        });
    }
    return this.#renewing;
  }

  async dial(signal?: AbortSignal): Promise<Duplex> {
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
    const connection = await connectToRelay({
      relayHost: `${c.relay}.${this.#opts.cloud.relaySuffix}`,
      hybridConnectionName: c.hybridConnectionName,
      token: c.token,
      cloud: this.#opts.cloud,
      ...(signal ? { signal } : {}),
    });
    return connection.stream;
  }
}
