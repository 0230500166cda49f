/**
 * Which Azure Relay hybrid connection serves which connected cluster, and the keys behind its
 * SAS rules. ARM mints Send tokens from it, the relay verifies against it, the agent listens
 * with a Listen token from it. Keys are random per emulator run.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createSas } from '../relay/sas.js';

export interface HybridConnectionEntry {
  /** ARM id of the connected cluster this hybrid connection serves. */
  clusterId: string;
  /** Relay namespace label: the host is `${relayName}.${relaySuffix}`. */
  relayName: string;
  /** Entity path, as listClusterUserCredential returns it. */
  hybridConnectionName: string;
  sendKeyName: string;
  sendKey: string;
  listenKeyName: string;
  listenKey: string;
}

export class RelayDirectory {
  readonly relaySuffix: string;
  readonly #entries: HybridConnectionEntry[] = [];

  constructor(relaySuffix: string) {
    this.relaySuffix = relaySuffix;
  }

  /** Registers (or returns) the hybrid connection for a cluster. */
  register(clusterId: string, location: string): HybridConnectionEntry {
    const existing = this.forCluster(clusterId);
    if (existing) return existing;
    const hash = createHash('sha256').update(clusterId.toLowerCase()).digest('hex');
    const entry: HybridConnectionEntry = {
      clusterId,
      relayName: `azgnrelay-${location.toLowerCase()}-l1`,
      hybridConnectionName: `microsoft.kubernetes/connectedclusters/${hash}/${Date.now()}${String(this.#entries.length).padStart(6, '0')}`,
      sendKeyName: 'sender20211026',
      sendKey: randomBytes(32).toString('base64'),
      listenKeyName: 'listener20211026',
      listenKey: randomBytes(32).toString('base64'),
    };
    this.#entries.push(entry);
    return entry;
  }

  forCluster(clusterId: string): HybridConnectionEntry | undefined {
    return this.#entries.find((e) => e.clusterId.toLowerCase() === clusterId.toLowerCase());
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
}
