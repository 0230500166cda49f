/**
 * The relay's TCP front door. Without an emulated latency a connection goes straight to the
 * relay's HTTPS server (no extra hop). With one, it is piped to that server through a delay line
 * each way, so every byte — TCP's own handshake (the first bytes wait one extra round trip), TLS,
 * the WebSocket upgrade, the control channel and relayed data — pays the one-way time, in order.
 */
import net from 'node:net';
import { DelayLine } from './delay-line.js';

/** Bytes queued (delay line + socket buffer) towards one side before the other side is paused. */
const HIGH_WATER_MARK = 4 * 1024 * 1024;

export interface LatencyFrontOptions {
  /** Where delayed connections are piped to (the relay's HTTPS server, listening on loopback). */
  backend: net.Server;
  host: string;
  port: number;
  /** The one-way latency to start with (ms). */
  latencyMs: number;
  /** Pipe every connection through delay lines even at 0 ms, so a later change reaches all of them. */
  alwaysDelay: boolean;
}

export interface LatencyFront {
  readonly port: number;
  readonly host: string;
  readonly latencyMs: number;
  /** TCP connections accepted so far (each one is a TCP and a TLS handshake for its client). */
  readonly acceptedConnections: number;
  /**
   * From now on, every byte of a piped connection waits `ms`. Connections taken straight to the
   * server (accepted at 0 ms without alwaysDelay) cannot be slowed: they are cut, as a route
   * change would, and their clients reconnect through the delay.
   */
  setLatency(ms: number): void;
  /** Cuts every connection at once. */
  destroyAll(): void;
  close(): Promise<void>;
}

export async function startLatencyFront(opts: LatencyFrontOptions): Promise<LatencyFront> {
  let latencyMs = opts.latencyMs;
  let accepted = 0;
  const direct = new Set<net.Socket>();
  const piped = new Set<() => void>();
  const backendAddress = opts.backend.address() as net.AddressInfo;

  const front = net.createServer((socket) => {
    accepted++;
    socket.on('error', () => undefined);
    if (latencyMs === 0 && !opts.alwaysDelay) {
      direct.add(socket);
      socket.once('close', () => direct.delete(socket));
      opts.backend.emit('connection', socket);
      return;
    }
    piped.add(pipeWithDelay(socket, backendAddress, () => latencyMs, piped));
  });

  await new Promise<void>((resolve, reject) => {
    front.once('error', reject);
    front.listen(opts.port, opts.host, () => {
      front.off('error', reject);
      resolve();
    });
  });
  const { port, address } = front.address() as net.AddressInfo;

  return {
    port,
    host: address,
    get latencyMs() {
      return latencyMs;
    },
    get acceptedConnections() {
      return accepted;
    },
    setLatency(ms: number) {
      if (!Number.isFinite(ms) || ms < 0 || ms > 10_000) throw new RangeError('The relay latency must be a number of milliseconds from 0 to 10000.');
      latencyMs = ms;
      if (ms > 0) for (const socket of [...direct]) socket.destroy();
    },
    destroyAll() {
      for (const socket of [...direct]) socket.destroy();
      for (const cut of [...piped]) cut();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const cut of [...piped]) cut();
        front.close(() => resolve());
      }),
  };
}

/** Pipes a client socket to the backend through a delay line each way; returns what cuts the pair. */
function pipeWithDelay(outer: net.Socket, backend: net.AddressInfo, delayMs: () => number, registry: Set<() => void>): () => void {
  outer.allowHalfOpen = true; // each direction ends on its own, after its delayed bytes
  const inner = net.connect({ host: backend.address, port: backend.port, allowHalfOpen: true });
  inner.on('error', () => undefined);
  // Nagle's algorithm would hold small writes for the peer's delayed ACK: a loopback delay of its own.
  outer.setNoDelay(true);
  inner.setNoDelay(true);
  const finish = (socket: net.Socket) => (how: 'end' | 'destroy') => (how === 'end' ? socket.end() : socket.destroy());
  // The client's first bytes went out before TCP's handshake could have completed over the WAN: one round trip more.
  const toServer = new DelayLine({ delayMs, deliver: (c) => write(inner, c), finish: finish(inner), notBefore: Date.now() + 3 * delayMs() });
  const toClient = new DelayLine({ delayMs, deliver: (c) => write(outer, c), finish: finish(outer) });
  const flows = [
    { from: outer, line: toServer, to: inner },
    { from: inner, line: toClient, to: outer },
  ];
  const balance = () => {
    for (const { from, line, to } of flows) {
      if (line.queuedBytes + to.writableLength > HIGH_WATER_MARK) from.pause();
      else if (from.isPaused()) from.resume();
    }
  };
  function write(to: net.Socket, chunk: Buffer): void {
    if (!to.destroyed) to.write(chunk);
    balance();
  }
  for (const { from, line, to } of flows) {
    from.on('data', (chunk: Buffer) => {
      line.push(chunk);
      balance();
    });
    from.once('end', () => line.finish('end'));
    from.once('close', () => line.finish('destroy'));
    to.on('drain', balance);
  }
  const cut = () => {
    toServer.clear();
    toClient.clear();
    outer.destroy();
    inner.destroy();
  };
  let closed = 0;
  const onClose = () => {
    if (++closed === 2) registry.delete(cut);
  };
  outer.once('close', onClose);
  inner.once('close', onClose);
  return cut;
}
