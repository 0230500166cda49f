/**
 * Everything the listener has open for its clients: raw TCP sockets (whatever their protocol or
 * handshake state), HTTP/2 sessions with their idle timers, and the requests and upgrades in
 * flight. The listener's close() drains and then ends them through this, so nothing outlives it.
 */
import type { ServerResponse } from 'node:http';
import type { ServerHttp2Session } from 'node:http2';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { ProxyHttp2Response } from './http2-compat.js';
import type { OpenEndable } from './open-streams.js';

/** A request's response, or an upgraded connection's socket. */
export type InFlight = ServerResponse | ProxyHttp2Response | Duplex;

/** How long close() lets HTTP/2 sessions write their last frames before destroying their sockets. */
const SESSION_FLUSH_MS = 1_000;

export class ClientConnections {
  readonly #idleConnectionMs: number;
  readonly #inFlight = new Set<InFlight>();
  /** The in-flight watches and followed logs: a stop ends them instead of waiting for them. */
  readonly #openEnded = new Set<OpenEndable>();
  readonly #sockets = new Set<Socket>();
  readonly #sessions = new Set<ServerHttp2Session>();
  #drained: (() => void) | undefined;
  #closing = false;

  constructor(idleConnectionMs: number) {
    this.#idleConnectionMs = idleConnectionMs;
  }

  get activeRequests(): number {
    return this.#inFlight.size;
  }

  addSocket(socket: Socket): void {
    this.#sockets.add(socket);
    socket.once('close', () => this.#sockets.delete(socket));
  }

  /**
   * HTTP/2's keepAliveTimeout: a session with no stream open for idleConnectionMs is closed
   * (GOAWAY, after which the client opens a new connection when it needs one). Never one with a
   * stream open, however quiet the watch on it: Node's own session timeout would, since it counts
   * frames, not streams.
   */
  addSession(session: ServerHttp2Session): void {
    this.#sessions.add(session);
    let open = 0;
    let idle: NodeJS.Timeout | undefined;
    const arm = (): void => {
      idle = setTimeout(() => session.close(), this.#idleConnectionMs);
      idle.unref();
    };
    session.on('stream', (stream: Duplex) => {
      if (open++ === 0) clearTimeout(idle);
      stream.once('close', () => {
        if (--open === 0 && !session.closed) arm();
      });
    });
    session.once('close', () => {
      clearTimeout(idle);
      this.#sessions.delete(session);
    });
    // A handshake that completed while close() ran: no new streams on it.
    if (this.#closing) session.close();
    else arm();
  }

  track(item: InFlight): void {
    this.#inFlight.add(item);
    item.once('close', () => {
      this.#inFlight.delete(item);
      if (this.#inFlight.size === 0) this.#drained?.();
    });
  }

  /** A tracked response that never ends by itself (a watch, `logs -f`). */
  trackOpenEnded(res: OpenEndable & InFlight): void {
    res.markOpenEnded();
    this.#openEnded.add(res);
    res.once('close', () => this.#openEnded.delete(res));
  }

  /**
   * No new streams on any session (GOAWAY first, so clients do not send new requests on them);
   * the open ones may finish. Watches and followed logs are ended now, cleanly, as the apiserver
   * ends a watch: the grace is for requests that finish by themselves.
   */
  stopAccepting(): void {
    this.#closing = true;
    for (const session of this.#sessions) session.close();
    for (const res of this.#openEnded) res.endAtStop();
  }

  /** Resolves when nothing is in flight, or after `graceMs`. */
  async drain(graceMs: number): Promise<void> {
    if (this.#inFlight.size === 0) return;
    let timer: NodeJS.Timeout | undefined;
    await new Promise<void>((resolve) => {
      this.#drained = resolve;
      timer = setTimeout(resolve, graceMs);
    });
    clearTimeout(timer);
    this.#drained = undefined;
  }

  /**
   * Aborts what outlived the grace (an HTTP/2 stream gets RST_STREAM) and resolves once each has
   * really closed. Sessions close themselves once their last stream has (they have had their
   * GOAWAY), after writing the resets: a socket destroyed before would drop them, and a client
   * could take a stream cut that way for a complete response. Then whatever is left is destroyed:
   * kept-alive HTTP/1.1 connections, handshakes that never finished, a session whose client
   * stopped reading. `afterAbort` runs once the in-flight items are being destroyed.
   */
  async destroyAll(afterAbort: () => void): Promise<void> {
    const aborted = [...this.#inFlight].map(
      (item) =>
        new Promise<void>((resolve) => {
          item.once('close', () => resolve());
          item.destroy();
        }),
    );
    afterAbort();
    const sessionsClosed = [...this.#sessions].map(
      (session) =>
        new Promise<void>((resolve) => {
          if (session.destroyed) resolve();
          else session.once('close', () => resolve());
        }),
    );
    let flushTimer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all([...aborted, ...sessionsClosed]), new Promise<void>((resolve) => (flushTimer = setTimeout(resolve, SESSION_FLUSH_MS)))]);
    clearTimeout(flushTimer);
    for (const socket of this.#sockets) socket.destroy();
    await Promise.all(aborted);
  }
}
