/**
 * One listener's control channel: the WebSocket a listener keeps open to receive `accept`
 * notifications. It lives as long as its Listen token: at `se` the service closes it with 1008;
 * a `renewToken` message replaces the token (a bad one also closes it with 1008).
 */
import WebSocket from 'ws';
import type { HybridConnectionEntry } from '../relay-directory.js';
import type { TokenCheck } from './sas-check.js';
import { closeReason } from './service-errors.js';

export interface AcceptNotification {
  address: string;
  id: string;
  connectHeaders: Record<string, string>;
  remoteEndpoint: { address: string; port: number };
}

export interface ControlChannelOptions {
  ws: WebSocket;
  entry: HybridConnectionEntry;
  /** Expiry (unix seconds) of the token the listener connected with. */
  expiry: number;
  now: () => number;
  /** Verifies a renewal token for this entity with the Listen right. */
  checkRenewal: (token: string | undefined) => TokenCheck;
  onClosed: (channel: ControlChannel) => void;
}

const MAX_TIMER_MS = 2 ** 31 - 1;

export class ControlChannel {
  readonly ws: WebSocket;
  readonly entry: HybridConnectionEntry;
  readonly #now: () => number;
  readonly #checkRenewal: ControlChannelOptions['checkRenewal'];
  #expiry: number;
  #timer: NodeJS.Timeout | undefined;

  constructor(opts: ControlChannelOptions) {
    this.ws = opts.ws;
    this.entry = opts.entry;
    this.#now = opts.now;
    this.#checkRenewal = opts.checkRenewal;
    this.#expiry = opts.expiry;
    this.ws.on('error', () => undefined); // 'close' follows
    this.ws.on('message', (data, isBinary) => {
      if (!isBinary) this.#onText(data.toString());
    });
    this.ws.on('close', () => {
      this.#clearTimer();
      opts.onClosed(this);
    });
    this.#armExpiry();
  }

  get expiry(): number {
    return this.#expiry;
  }

  get open(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  sendAccept(accept: AcceptNotification): void {
    this.ws.send(JSON.stringify({ accept }));
  }

  /** Closes the channel because its token is no longer valid. */
  expire(description = 'ExpiredToken: The token is expired.'): void {
    this.close(1008, description);
  }

  close(code: number, description: string): void {
    this.#clearTimer();
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.close(code, closeReason(description));
  }

  #onText(text: string): void {
    let message: unknown;
    try {
      message = JSON.parse(text);
    } catch {
      return; // the service ignores what it does not understand
    }
    const renew = (message as { renewToken?: { token?: unknown } } | null)?.renewToken;
    if (!renew) return;
    const result = this.#checkRenewal(typeof renew.token === 'string' ? renew.token : undefined);
    if (!result.ok) {
      this.close(1008, result.description);
      return;
    }
    this.#expiry = result.expiry;
    this.#armExpiry();
  }

  #armExpiry(): void {
    this.#clearTimer();
    const delay = this.#expiry * 1000 - this.#now();
    if (delay <= 0) {
      this.expire();
      return;
    }
    // Re-check on fire: the clock may be injected, and long delays overflow setTimeout.
    this.#timer = setTimeout(() => this.#armExpiry(), Math.min(delay, MAX_TIMER_MS));
  }

  #clearTimer(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
