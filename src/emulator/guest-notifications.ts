/**
 * Azure's Guest Notification Service as the cluster agent sees it: each hybrid connection ARM
 * issues for the cluster is announced to the agent, which starts listening on it only then — a
 * notification delay after the ARM call (seedable; how long it really takes is not public). One
 * listener per live hybrid connection; one that is deleted loses its listener. A StreamSource for
 * the agent: 'connection' (stream) from whichever hybrid connection a sender came through.
 */
import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import type { CloudProfile } from '../net/cloud-profile.js';
import type { HybridConnectionEntry, RelayDirectory } from './relay-directory.js';
import { HybridConnectionListener } from './relay/listener.js';
import type { StreamSource } from './agent/index.js';

export interface ClusterListenersOptions {
  directory: RelayDirectory;
  /** The cluster's ARM id: only its hybrid connections are announced to it. */
  clusterId: string;
  cloud: Pick<CloudProfile, 'ca' | 'hostMap'>;
  /** The notification delay (ms), read for each new hybrid connection. */
  delayMs: () => number;
  /** Listen token lifetime (s); the listener renews it. Default 3600. */
  listenTokenSeconds?: number;
}

export class ClusterListeners extends EventEmitter implements StreamSource {
  readonly #opts: ClusterListenersOptions;
  readonly #listeners = new Map<HybridConnectionEntry, HybridConnectionListener>();
  readonly #pending = new Map<HybridConnectionEntry, NodeJS.Timeout>();
  #started = false;
  #closed = false;

  constructor(opts: ClusterListenersOptions) {
    super();
    this.#opts = opts;
  }

  /** Hybrid connections with a listener that is online now. */
  get onlineCount(): number {
    return [...this.#listeners.values()].filter((l) => l.online).length;
  }

  start(): void {
    if (this.#started || this.#closed) return;
    this.#started = true;
    this.#opts.directory.on('issued', this.#onIssued);
    this.#opts.directory.on('deleted', this.#onDeleted);
    // Announced while the agent was away: it listens on them as soon as it is back.
    for (const entry of this.#opts.directory.liveFor(this.#opts.clusterId)) this.#listen(entry);
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#opts.directory.off('issued', this.#onIssued);
    this.#opts.directory.off('deleted', this.#onDeleted);
    for (const timer of this.#pending.values()) clearTimeout(timer);
    this.#pending.clear();
    const listeners = [...this.#listeners.values()];
    this.#listeners.clear();
    await Promise.all(listeners.map((l) => l.close()));
  }

  readonly #onIssued = (entry: HybridConnectionEntry): void => {
    if (this.#closed || entry.clusterId.toLowerCase() !== this.#opts.clusterId.toLowerCase()) return;
    const delay = Math.max(0, this.#opts.delayMs());
    if (delay === 0) return this.#listen(entry);
    const timer = setTimeout(() => {
      this.#pending.delete(entry);
      this.#listen(entry);
    }, delay);
    timer.unref();
    this.#pending.set(entry, timer);
  };

  readonly #onDeleted = (entry: HybridConnectionEntry): void => {
    const timer = this.#pending.get(entry);
    if (timer) clearTimeout(timer);
    this.#pending.delete(entry);
    const listener = this.#listeners.get(entry);
    this.#listeners.delete(entry);
    void listener?.close();
  };

  #listen(entry: HybridConnectionEntry): void {
    if (this.#closed || this.#listeners.has(entry) || !this.#opts.directory.entries().includes(entry)) return;
    const { directory } = this.#opts;
    const lifetime = this.#opts.listenTokenSeconds ?? 3600;
    const listener = new HybridConnectionListener({
      relayHost: directory.host(entry),
      hybridConnectionName: entry.hybridConnectionName,
      token: () => directory.listenToken(entry, Math.floor(Date.now() / 1000) + lifetime),
      cloud: this.#opts.cloud,
    });
    listener.on('connection', (stream: Duplex) => this.emit('connection', stream));
    // 404 on listen: the hybrid connection is gone; the listener has stopped for good.
    listener.on('error', () => {
      if (this.#listeners.get(entry) === listener) this.#listeners.delete(entry);
    });
    this.#listeners.set(entry, listener);
    listener.start();
  }
}
