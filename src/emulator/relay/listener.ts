/**
 * A Hybrid Connections listener (what Arc's clusterconnect-agent is), used by the emulated agent.
 * It keeps a control channel open, accepts (or rejects) each sender by opening the rendezvous
 * address it is sent, renews its Listen token before `se`, pings to notice a dead connection,
 * and reconnects after a drop on the SDKs' schedule (0, 1, 2, 5, 10, 30 s). A 404 on listen
 * means the hybrid connection does not exist: that is final.
 *
 * Events: 'online'; 'offline' (err?: Error); 'connection' (stream: Duplex, info: AcceptInfo);
 * 'error' (err: RelayError) when it stops for good.
 */
import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ClientRequest } from 'node:http';
import WebSocket from 'ws';
import type { CloudProfile } from '../../net/cloud-profile.js';
import { parseSas } from '../../relay/sas.js';
import { RelayError, isCleanCloseCode } from '../../relay/errors.js';
import { hybridConnectionPath, relayWebSocketOptions } from '../../relay/sender.js';
import { webSocketStream } from '../../relay/stream.js';

export interface AcceptInfo {
  id: string;
  connectHeaders: Record<string, string>;
  remoteEndpoint: { address: string; port: number };
}

export type AcceptDecision = true | { status: number; description: string };

export interface HybridConnectionListenerOptions {
  relayHost: string;
  hybridConnectionName: string;
  /** Returns a Listen SAS; asked on each (re)connect and each renewal. */
  token: () => string;
  cloud: Pick<CloudProfile, 'ca' | 'hostMap'>;
  /** Control-channel ping interval. Default 30000. */
  pingIntervalMs?: number;
  /** A ping unanswered this long means the connection is dead. Default 10000. */
  pongTimeoutMs?: number;
  /** Delays before reconnect attempts (the last repeats). Default [0,1000,2000,5000,10000,30000]. */
  backoffMs?: number[];
  /** Decides per sender; default accepts everyone. */
  accept?: (info: AcceptInfo) => AcceptDecision;
  /** Clock for renewal timing (ms). Default Date.now. */
  now?: () => number;
}

interface AcceptMessage extends AcceptInfo {
  address: string;
}

const DEFAULT_BACKOFF = [0, 1000, 2000, 5000, 10000, 30000];

export class HybridConnectionListener extends EventEmitter {
  readonly #opts: HybridConnectionListenerOptions;
  readonly #now: () => number;
  #control: WebSocket | undefined;
  #online = false;
  #started = false;
  #stopped = false;
  #attempt = 0;
  #reconnectTimer: NodeJS.Timeout | undefined;
  #renewTimer: NodeJS.Timeout | undefined;
  #pingTimer: NodeJS.Timeout | undefined;
  #pongTimer: NodeJS.Timeout | undefined;
  /** Accept/reject handshakes in flight, ended on close(). */
  readonly #handshakes = new Set<WebSocket>();

  constructor(opts: HybridConnectionListenerOptions) {
    super();
    this.#opts = opts;
    this.#now = opts.now ?? Date.now;
  }

  get online(): boolean {
    return this.#online;
  }

  start(): void {
    if (this.#started) return;
    this.#started = true;
    this.#connect();
  }

  /** Closes the control channel (1000) and stops reconnecting. Accepted streams are not touched. */
  async close(): Promise<void> {
    this.#stopped = true;
    this.#clearTimers();
    for (const ws of this.#handshakes) ws.terminate();
    this.#handshakes.clear();
    const control = this.#control;
    if (!control || control.readyState === WebSocket.CLOSED) return;
    await new Promise<void>((resolve) => {
      control.once('close', () => resolve());
      if (control.readyState === WebSocket.CONNECTING) control.terminate();
      else if (control.readyState === WebSocket.OPEN) control.close(1000);
    });
  }

  #connect(): void {
    if (this.#stopped) return;
    const url = `wss://${this.#opts.relayHost}${hybridConnectionPath(this.#opts.hybridConnectionName)}?sb-hc-action=listen&sb-hc-id=${randomUUID()}`;
    let token: string;
    try {
      token = this.#opts.token();
    } catch {
      this.#scheduleReconnect();
      return;
    }
    const ws = new WebSocket(url, { ...relayWebSocketOptions(this.#opts.cloud, this.#opts.relayHost), headers: { ServiceBusAuthorization: token } });
    this.#control = ws;
    let refusal: RelayError | undefined;
    let lastError: Error | undefined;

    ws.on('unexpected-response', (req: ClientRequest, res: IncomingMessage) => {
      refusal = listenRefusal(res.statusCode ?? 0, res.statusMessage ?? '', this.#opts.hybridConnectionName);
      res.resume();
      req.destroy();
      ws.terminate();
    });
    ws.on('error', (err) => {
      lastError = err;
    });
    ws.on('open', () => {
      this.#attempt = 0;
      this.#online = true;
      this.#scheduleRenewal(token);
      this.#startPings(ws);
      this.emit('online');
    });
    ws.on('pong', () => this.#clearPongTimer());
    ws.on('message', (data, isBinary) => {
      if (!isBinary) this.#onControlMessage(data.toString());
    });
    ws.on('close', (code, reason) => {
      if (this.#control === ws) this.#control = undefined;
      const wasOnline = this.#online;
      this.#online = false;
      this.#clearTimers();
      if (refusal?.code === 'ARCPROXY_RELAY_NOT_FOUND') {
        this.#stopped = true;
        if (wasOnline) this.emit('offline', refusal);
        this.emit('error', refusal);
        return;
      }
      const err =
        refusal ??
        (isCleanCloseCode(code) && !lastError
          ? undefined
          : new RelayError('ARCPROXY_RELAY_CLOSED', `Listener control channel closed with code ${code}${reason.length ? `: ${reason.toString()}` : ''}.`, {
              closeCode: code,
              ...(lastError ? { cause: lastError } : {}),
            }));
      if (wasOnline || this.#stopped) this.emit('offline', err);
      if (!this.#stopped) this.#scheduleReconnect();
    });
  }

  #scheduleReconnect(): void {
    if (this.#stopped) return;
    const backoff = this.#opts.backoffMs ?? DEFAULT_BACKOFF;
    const delay = backoff[Math.min(this.#attempt, backoff.length - 1)] ?? 0;
    this.#attempt++;
    this.#reconnectTimer = setTimeout(() => {
      this.#reconnectTimer = undefined;
      this.#connect();
    }, delay);
  }

  #onControlMessage(text: string): void {
    let message: { accept?: AcceptMessage };
    try {
      message = JSON.parse(text) as { accept?: AcceptMessage };
    } catch {
      return;
    }
    const accept = message.accept;
    if (!accept || typeof accept.address !== 'string') return;
    const info: AcceptInfo = {
      id: String(accept.id ?? ''),
      connectHeaders: accept.connectHeaders ?? {},
      remoteEndpoint: accept.remoteEndpoint ?? { address: '', port: 0 },
    };
    let decision: AcceptDecision;
    try {
      decision = this.#opts.accept ? this.#opts.accept(info) : true;
    } catch {
      decision = { status: 500, description: 'The listener failed to decide on the connection.' };
    }
    if (decision === true) this.#acceptConnection(accept.address, info);
    else this.#rejectConnection(accept.address, decision);
  }

  #openRendezvous(address: string): WebSocket | undefined {
    let url: URL;
    try {
      url = new URL(address);
    } catch {
      return undefined;
    }
    const ws = new WebSocket(url, relayWebSocketOptions(this.#opts.cloud, url.host));
    this.#handshakes.add(ws);
    ws.on('error', () => undefined); // a sender that gave up makes the accept fail; nothing to report
    ws.once('close', () => this.#handshakes.delete(ws));
    return ws;
  }

  #acceptConnection(address: string, info: AcceptInfo): void {
    const ws = this.#openRendezvous(address);
    if (!ws) return;
    ws.once('open', () => {
      this.#handshakes.delete(ws);
      this.emit('connection', webSocketStream(ws), info);
    });
  }

  #rejectConnection(address: string, decision: { status: number; description: string }): void {
    const url = new URL(address);
    url.searchParams.set('sb-hc-statusCode', String(decision.status));
    url.searchParams.set('sb-hc-statusDescription', decision.description);
    const ws = this.#openRendezvous(url.toString());
    if (!ws) return;
    // The service answers 410 by design; anything else is just as final for this sender.
    ws.on('unexpected-response', (req: ClientRequest, res: IncomingMessage) => {
      res.resume();
      req.destroy();
      ws.terminate();
    });
  }

  #scheduleRenewal(token: string): void {
    const sas = parseSas(token);
    if (!sas) return;
    const left = sas.expiry * 1000 - this.#now();
    // Renew with a margin of a fifth of the remaining life, at most 5 minutes.
    const delay = Math.max(0, left - Math.min(5 * 60_000, left / 5));
    this.#renewTimer = setTimeout(() => this.#renew(), Math.min(delay, 2 ** 31 - 1));
  }

  #renew(): void {
    const ws = this.#control;
    if (!ws || ws.readyState !== WebSocket.OPEN) return;
    let token: string;
    try {
      token = this.#opts.token();
    } catch {
      return; // the service will close the channel at expiry and we reconnect then
    }
    ws.send(JSON.stringify({ renewToken: { token } }));
    this.#scheduleRenewal(token);
  }

  #startPings(ws: WebSocket): void {
    const interval = this.#opts.pingIntervalMs ?? 30_000;
    const pongTimeout = this.#opts.pongTimeoutMs ?? 10_000;
    this.#pingTimer = setInterval(() => {
      if (ws.readyState !== WebSocket.OPEN || this.#pongTimer) return;
      ws.ping();
      // A missed pong means the path is dead even if TCP has not noticed yet.
      this.#pongTimer = setTimeout(() => ws.terminate(), pongTimeout);
    }, interval);
  }

  #clearPongTimer(): void {
    if (this.#pongTimer) clearTimeout(this.#pongTimer);
    this.#pongTimer = undefined;
  }

  #clearTimers(): void {
    for (const t of [this.#reconnectTimer, this.#renewTimer, this.#pongTimer]) if (t) clearTimeout(t);
    if (this.#pingTimer) clearInterval(this.#pingTimer);
    this.#reconnectTimer = this.#renewTimer = this.#pongTimer = this.#pingTimer = undefined;
  }
}

function listenRefusal(status: number, description: string, name: string): RelayError {
  if (status === 404) {
    return new RelayError('ARCPROXY_RELAY_NOT_FOUND', `Hybrid connection "${name}" does not exist (404 ${description}).`, { httpStatus: status });
  }
  const code =
    status === 401
      ? /expired/i.test(description)
        ? 'ARCPROXY_RELAY_TOKEN_EXPIRED'
        : 'ARCPROXY_RELAY_UNAUTHORIZED'
      : status === 403
        ? 'ARCPROXY_RELAY_FORBIDDEN'
        : 'ARCPROXY_RELAY_REJECTED';
  return new RelayError(code, `The relay refused the listener for "${name}" (${status} ${description}).`, { httpStatus: status });
}
