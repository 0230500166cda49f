/**
 * What runs "inside" an emulated pod: an echo server on each of its ports (real loopback
 * sockets, so port-forward streams behave like TCP: when the client ends, the echo ends too) and
 * its log: two start-up lines, or a generated log of a given size (generated-log.ts), then one
 * line a second for pods that log.
 */
import { EventEmitter } from 'node:events';
import { connect, createServer, type Server } from 'node:net';
import type { Duplex } from 'node:stream';
import type { PodRuntime } from './types.js';

const LOG_HISTORY = 1000;

export interface LogLine {
  time: Date;
  text: string;
}

export class EmulatedPod extends EventEmitter implements PodRuntime {
  readonly namespace: string;
  readonly name: string;
  readonly containers: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly #echo = new Map<number, { server: Server; port: number }>();
  readonly #log: LogLine[] = [];
  #generatedLogBytes = 0;
  #startedAt = new Date(0);
  #lineNo = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(namespace: string, name: string, containers: string[], env: Record<string, string>) {
    super();
    this.setMaxListeners(0);
    this.namespace = namespace;
    this.name = name;
    this.containers = containers;
    this.env = env;
  }

  /** With `generatedLogBytes` (even 0) the log is that generated text instead of the start-up lines. */
  async start(echoPorts: number[], logEverySecond: boolean, now: () => number, generatedLogBytes?: number): Promise<void> {
    this.#startedAt = new Date(now());
    for (const port of echoPorts) {
      const server = createServer((s) => {
        s.on('error', () => s.destroy());
        s.pipe(s);
      });
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, '127.0.0.1', () => resolve());
      });
      this.#echo.set(port, { server, port: (server.address() as { port: number }).port });
    }
    if (generatedLogBytes === undefined) {
      this.#write(`hello from ${this.name}: starting`, now);
      this.#write(`hello from ${this.name}: listening on ${echoPorts.length ? echoPorts.join(', ') : 'no ports'}`, now);
    } else {
      this.#generatedLogBytes = generatedLogBytes;
    }
    if (logEverySecond) {
      this.#timer = setInterval(() => this.#write(`hello from ${this.name}: line ${++this.#lineNo}`, now), 1000);
      this.#timer.unref();
    }
  }

  #write(text: string, now: () => number): void {
    const line = { time: new Date(now()), text };
    this.#log.push(line);
    if (this.#log.length > LOG_HISTORY) this.#log.shift();
    this.emit('log', line);
  }

  logHistory(): readonly LogLine[] {
    return this.#log;
  }

  /** Size of the generated log that comes before `logHistory()` (0: none). */
  get generatedLogBytes(): number {
    return this.#generatedLogBytes;
  }

  /** When the pod started: the timestamp of every generated line. */
  get startedAt(): Date {
    return this.#startedAt;
  }

  connect(port: number): Duplex | undefined {
    const target = this.#echo.get(port);
    return target ? connect(target.port, '127.0.0.1') : undefined;
  }

  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.emit('stopped');
    await Promise.all(
      [...this.#echo.values()].map(
        ({ server }) =>
          new Promise<void>((resolve) => {
            server.close(() => resolve());
          }),
      ),
    );
    this.#echo.clear();
  }
}
