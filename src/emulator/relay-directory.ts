/**
 * The hybrid connections that exist, which cluster each serves, and the keys behind its SAS rules.
 * As Azure hands them out: every listClusterUserCredential issues a NEW hybrid connection, named
 * `microsoft.kubernetes/connectedclusters/<sha-256 of the cluster id>/<issue time in ns>` on the
 * namespace `azgnrelay-<region>-l1`, with keys of its own (a SAS for one never opens another), and
 * deletes it at its expiration time. ARM issues them, the relay verifies against them and closes
 * what runs on a deleted one (1001), the agent learns of them through the guest notifications.
 * Keys are random per emulator run.
 *
 * Events: 'issued' (entry), 'deleted' (entry).
 */
import { EventEmitter } from 'node:events';
import { createHash, randomBytes } from 'node:crypto';
import { createSas } from '../relay/sas.js';

export interface HybridConnectionEntry {
  /** ARM id of the connected cluster this hybrid connection serves. */
  clusterId: string;
  /** Relay namespace label: the host is `${relayName}.${relaySuffix}`. */
  relayName: string;
  /** Entity path, as listClusterUserCredential returns it. */
  hybridConnectionName: string;
  /** When it was issued (ms). */
  issuedAtMs: number;
  /** When it is deleted (ms, a whole second: ARM's expirationTime); undefined = never (tests). */
  expiresAtMs: number | undefined;
  sendKeyName: string;
  sendKey: string;
  listenKeyName: string;
  listenKey: string;
}

export interface IssueOptions {
  /** Issue time (ms); default Date.now(). */
  nowMs?: number;
  /** Deleted this long after the issue second; undefined = never deleted (unit-test fixtures). */
  lifetimeSeconds?: number;
}

const MAX_TIMER_MS = 2 ** 31 - 1;

export class RelayDirectory extends EventEmitter {
  readonly relaySuffix: string;
  readonly #entries: HybridConnectionEntry[] = [];
  readonly #timers = new Map<HybridConnectionEntry, NodeJS.Timeout>();
  /** Issued so far, per cluster (lower-case id), deleted ones included. */
  readonly #issuedCount = new Map<string, number>();
  #lastNs = 0n;

  constructor(relaySuffix: string) {
    super();
    this.relaySuffix = relaySuffix;
  }

  /** A new hybrid connection for a cluster, deleted `lifetimeSeconds` after its issue second. */
  issue(clusterId: string, location: string, opts: IssueOptions = {}): HybridConnectionEntry {
    const nowMs = opts.nowMs ?? Date.now();
    const hash = createHash('sha256').update(clusterId.toLowerCase()).digest('hex');
    // Nanoseconds from the clock, strictly increasing so two calls in one millisecond differ.
    let ns = BigInt(Math.floor(nowMs)) * 1_000_000n;
    if (ns <= this.#lastNs) ns = this.#lastNs + 1n;
    this.#lastNs = ns;
    const entry: HybridConnectionEntry = {
      clusterId,
      relayName: `azgnrelay-${location.toLowerCase()}-l1`,
      hybridConnectionName: `microsoft.kubernetes/connectedclusters/${hash}/${ns}`,
      issuedAtMs: nowMs,
      expiresAtMs: opts.lifetimeSeconds === undefined ? undefined : (Math.floor(nowMs / 1000) + opts.lifetimeSeconds) * 1000,
      sendKeyName: 'sender20211026',
      sendKey: randomBytes(32).toString('base64'),
      listenKeyName: 'listener20211026',
      listenKey: randomBytes(32).toString('base64'),
    };
    this.#entries.push(entry);
    const key = clusterId.toLowerCase();
    this.#issuedCount.set(key, (this.#issuedCount.get(key) ?? 0) + 1);
    if (entry.expiresAtMs !== undefined) this.#armDeletion(entry);
    this.emit('issued', entry);
    return entry;
  }

  /** Deletes a hybrid connection now: it is no longer found, and 'deleted' tells the relay and the agent. */
  delete(entry: HybridConnectionEntry): void {
    const i = this.#entries.indexOf(entry);
    if (i < 0) return;
    this.#entries.splice(i, 1);
    const timer = this.#timers.get(entry);
    if (timer) clearTimeout(timer);
    this.#timers.delete(entry);
    this.emit('deleted', entry);
  }

  /** The newest live hybrid connection of a cluster. */
  forCluster(clusterId: string): HybridConnectionEntry | undefined {
    return this.liveFor(clusterId).at(-1);
  }

  /** Every live hybrid connection of a cluster, oldest first. */
  liveFor(clusterId: string): HybridConnectionEntry[] {
    return this.#entries.filter((e) => e.clusterId.toLowerCase() === clusterId.toLowerCase());
  }

  /** How many hybrid connections were issued for a cluster, deleted ones included. */
  issuedCount(clusterId: string): number {
    return this.#issuedCount.get(clusterId.toLowerCase()) ?? 0;
  }

  /** Finds the entry for a relay host and entity path (both case-insensitive, as the service is). */
  find(host: string, path: string): HybridConnectionEntry | undefined {
    const h = host.toLowerCase().replace(/:\d+$/, '');
    const p = path.replace(/^\/+|\/+$/g, '').toLowerCase();
    return this.#entries.find((e) => `${e.relayName}.${this.relaySuffix}`.toLowerCase() === h && e.hybridConnectionName.toLowerCase() === p);
  }

  host(entry: HybridConnectionEntry): string {
    return `${entry.relayName}.${this.relaySuffix}`;
  }

  /** The resource URI SAS tokens for this hybrid connection are scoped to. */
  resourceUri(entry: HybridConnectionEntry): string {
    return `http://${this.host(entry)}/${entry.hybridConnectionName}`;
  }

  sendToken(entry: HybridConnectionEntry, expiry: number): string {
    return createSas({ resourceUri: this.resourceUri(entry), keyName: entry.sendKeyName, key: entry.sendKey, expiry });
  }

  listenToken(entry: HybridConnectionEntry, expiry: number): string {
    return createSas({ resourceUri: this.resourceUri(entry), keyName: entry.listenKeyName, key: entry.listenKey, expiry });
  }

  entries(): readonly HybridConnectionEntry[] {
    return this.#entries;
  }

  /** Stops the deletion timers (emulator shutdown). */
  close(): void {
    for (const timer of this.#timers.values()) clearTimeout(timer);
    this.#timers.clear();
  }

  #armDeletion(entry: HybridConnectionEntry): void {
    const delay = entry.expiresAtMs! - Date.now();
    if (delay <= 0) {
      // Deleted on the next turn, so the caller still gets the entry it asked for.
      const timer = setTimeout(() => this.delete(entry), 0);
      timer.unref();
      this.#timers.set(entry, timer);
      return;
    }
    // Re-checked on fire: long delays overflow setTimeout.
    const timer = setTimeout(() => (delay > MAX_TIMER_MS ? this.#armDeletion(entry) : this.delete(entry)), Math.min(delay, MAX_TIMER_MS));
    timer.unref();
    this.#timers.set(entry, timer);
  }
}
