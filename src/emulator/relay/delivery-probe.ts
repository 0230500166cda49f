/**
 * For the benchmark (bench/lib/workloads.js): when the relay passed one message on its way to the
 * sender. Armed with a marker (a pod's name), it notes on each relayed connection the first
 * listener-to-sender message carrying the marker: when the relay read it from the listener and
 * when it had written it to the sender. Times are process.hrtime in ns (CLOCK_MONOTONIC, the same
 * clock in every process on the machine), so another process can lay its own receive times beside
 * them and see which hop an event's delivery time went to. Unarmed, it costs a check per message.
 */
export interface DeliveryTimes {
  /** The relay had the message from the listener (the agent), per connection, ascending. */
  fromListenerNs: number[];
  /** The relay had written it to the sender (arcproxy), per connection, ascending. */
  toSenderNs: number[];
}

export class DeliveryProbe {
  #marker: Buffer | undefined;
  #seen = new WeakSet<object>();
  #from: number[] = [];
  #to: number[] = [];

  /** Starts noting the first message with `marker` on each connection; forgets earlier notes. */
  arm(marker: string): void {
    this.#marker = Buffer.from(marker, 'utf8');
    this.#seen = new WeakSet<object>();
    this.#from = [];
    this.#to = [];
  }

  /** The notes since arm(), and stops noting. */
  collect(): DeliveryTimes {
    this.#marker = undefined;
    const ascending = (a: number, b: number) => a - b;
    const times = { fromListenerNs: this.#from.sort(ascending), toSenderNs: this.#to.sort(ascending) };
    this.#from = [];
    this.#to = [];
    return times;
  }

  /** Whether `data` is a message to time: armed, it carries the marker, first on `connection`. */
  wants(connection: object, data: Buffer): boolean {
    if (this.#marker === undefined || this.#seen.has(connection) || !data.includes(this.#marker)) return false;
    this.#seen.add(connection);
    return true;
  }

  note(fromListenerNs: bigint, toSenderNs: bigint): void {
    this.#from.push(Number(fromListenerNs));
    this.#to.push(Number(toSenderNs));
  }
}
