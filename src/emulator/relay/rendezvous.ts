/**
 * Senders waiting for a listener to accept. A rendezvous address is one-use and expires (about
 * 30 s at the real service); the sender's socket is held, un-upgraded, until the listener opens
 * the address (then both get their WebSocket) or rejects it (then the sender gets the listener's
 * status), or until the address expires.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { HybridConnectionEntry } from '../relay-directory.js';

export interface PendingConnect {
  readonly id: string;
  readonly entry: HybridConnectionEntry;
  readonly req: IncomingMessage;
  readonly socket: Duplex;
  readonly head: Buffer;
}

interface Slot {
  pending: PendingConnect;
  timer: NodeJS.Timeout;
  onSocketClose: () => void;
}

export class RendezvousTable {
  readonly #slots = new Map<string, Slot>();
  readonly #timeoutMs: number;

  constructor(timeoutMs: number) {
    this.#timeoutMs = timeoutMs;
  }

  get size(): number {
    return this.#slots.size;
  }

  /**
   * Parks a sender. `preferredId` (the sender's sb-hc-id) is used when free. `onExpired` runs if
   * no listener claims it in time; a sender that hangs up is forgotten silently.
   */
  add(
    entry: HybridConnectionEntry,
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    preferredId: string | null,
    onExpired: (p: PendingConnect) => void,
  ): PendingConnect {
    const id = preferredId && /^[\w.-]{1,128}$/.test(preferredId) && !this.#slots.has(preferredId) ? preferredId : randomUUID();
    const pending: PendingConnect = { id, entry, req, socket, head };
    const onSocketClose = () => this.#remove(id);
    const timer = setTimeout(() => {
      if (this.#remove(id)) onExpired(pending);
    }, this.#timeoutMs);
    socket.once('close', onSocketClose);
    this.#slots.set(id, { pending, timer, onSocketClose });
    return pending;
  }

  /** Takes a parked sender (one use): undefined if unknown, expired, gone or for another entity. */
  claim(id: string | null, entry: HybridConnectionEntry): PendingConnect | undefined {
    if (!id) return undefined;
    const slot = this.#slots.get(id);
    if (!slot || slot.pending.entry !== entry || slot.pending.socket.destroyed) return undefined;
    this.#remove(id);
    return slot.pending;
  }

  /** Removes every parked sender, handing each to `each` (shutdown). */
  drain(each: (p: PendingConnect) => void): void {
    for (const id of [...this.#slots.keys()]) {
      const slot = this.#slots.get(id)!;
      this.#remove(id);
      each(slot.pending);
    }
  }

  /** Removes the parked senders of one entity (it was deleted), handing each to `each`. */
  drainEntry(entry: HybridConnectionEntry, each: (p: PendingConnect) => void): void {
    for (const [id, slot] of [...this.#slots]) {
      if (slot.pending.entry !== entry) continue;
      this.#remove(id);
      each(slot.pending);
    }
  }

  #remove(id: string): boolean {
    const slot = this.#slots.get(id);
    if (!slot) return false;
    clearTimeout(slot.timer);
    slot.pending.socket.off('close', slot.onSocketClose);
    this.#slots.delete(id);
    return true;
  }
}
