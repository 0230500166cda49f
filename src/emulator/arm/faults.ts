/** Failures tests can ask the emulated ARM for: throttling, server errors, short relay tokens. */

export interface ArmFaults {
  /** The next `count` requests answer `status` (429 with Retry-After, or 500). */
  failNext(count: number, status: 429 | 500, retryAfterSeconds?: number): void;
  /** Lifetime of relay SAS tokens handed out from now on (seconds). */
  setRelayTokenLifetime(seconds: number): void;
}

export interface PendingFailure {
  status: 429 | 500;
  retryAfterSeconds: number | undefined;
}

export class FaultPlan implements ArmFaults {
  #remaining = 0;
  #failure: PendingFailure = { status: 500, retryAfterSeconds: undefined };
  #relayTokenLifetime: number;

  constructor(relayTokenLifetimeSeconds: number) {
    this.#relayTokenLifetime = relayTokenLifetimeSeconds;
  }

  failNext(count: number, status: 429 | 500, retryAfterSeconds?: number): void {
    if (!Number.isInteger(count) || count < 0) throw new RangeError('failNext needs a whole number of requests.');
    this.#remaining = count;
    this.#failure = { status, retryAfterSeconds: status === 429 ? (retryAfterSeconds ?? 1) : retryAfterSeconds };
  }

  setRelayTokenLifetime(seconds: number): void {
    if (!Number.isFinite(seconds) || seconds <= 0) throw new RangeError('Relay token lifetime must be a positive number of seconds.');
    this.#relayTokenLifetime = Math.floor(seconds);
  }

  get relayTokenLifetimeSeconds(): number {
    return this.#relayTokenLifetime;
  }

  /** Takes one planned failure, if any is left. */
  take(): PendingFailure | undefined {
    if (this.#remaining <= 0) return undefined;
    this.#remaining -= 1;
    return this.#failure;
  }
}
