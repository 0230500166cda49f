/**
 * The emulated Azure Relay (Hybrid Connections, WebSocket mode). One HTTPS port serves every relay
 * host: requests are dispatched on the Host header, so a cloud profile's host map can point
 * `*.{relaySuffix}` here and TLS still verifies the relay names (the caller's certificate covers
 * them). Speaks the documented protocol:
 *
 *   listen   /$hc/{path}?sb-hc-action=listen   Listen SAS  -> control channel
 *   connect  /$hc/{path}?sb-hc-action=connect  Send SAS    -> {"accept":{...}} to a random listener
 *   accept   /$hc/{path}?sb-hc-action=accept&sb-hc-id=...  -> both sides upgraded and spliced
 *   reject   ...accept address&sb-hc-statusCode=NNN&sb-hc-statusDescription=...
 *                                                          -> listener 410, sender NNN
 *
 * Hybrid connections come and go with the directory: one that does not exist (or no longer)
 * answers 404 "Endpoint does not exist"; deleting one closes its listeners and relayed
 * connections with 1001 and refuses its waiting senders with 404.
 */
import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import WebSocket, { WebSocketServer } from 'ws';
import type { HybridConnectionEntry, RelayDirectory } from '../relay-directory.js';
import { checkRelayToken, type RelayRight, type TokenCheck } from './sas-check.js';
import { ControlChannel } from './control-channel.js';
import { RendezvousTable, type PendingConnect } from './rendezvous.js';
import { splice } from './splice.js';
import { refuseUpgrade, sanitizeReason, withTracking, type ServiceFailure } from './service-errors.js';
import { startLatencyFront } from './latency-front.js';
import { DeliveryProbe } from './delivery-probe.js';

export interface RelayEmulatorOptions {
  directory: RelayDirectory;
  tls: { cert: string; key: string };
  host?: string;
  port?: number;
  /** Clock for token checks and expiry (ms). Default Date.now. */
  now?: () => number;
  /** Listeners allowed per hybrid connection (the service allows 25). */
  maxListeners?: number;
  /** How long a rendezvous address stays valid (the service: about 30 s). */
  acceptTimeoutMs?: number;
  /**
   * One-way latency (ms) every byte between a client (sender or listener) and the relay pays, as if
   * the relay were a WAN hop away. Set (even to 0), every connection goes through the delay stage,
   * so faults.setLatency reaches all of them; left out, connections go straight to the server until
   * a latency is set.
   */
  latencyMs?: number;
}

export interface RelayEmulatorFaults {
  /** Destroys every relay socket at once (control channels, rendezvous, waiting senders), like a network cut. */
  dropAllConnections(): void;
  /** Treats every token seen so far as expired: listeners are closed with 1008 and those tokens are refused from now on. */
  expireTokensNow(): void;
  /**
   * One-way latency (ms) for every byte between clients and the relay from now on, handshakes
   * included. Connections that were opened without the delay stage are cut (clients reconnect).
   */
  setLatency(ms: number): void;
}

export interface RelayCounters {
  /** TCP connections accepted (each a TCP and TLS handshake for its client). */
  tcpConnections: number;
  /** Connections relayed (a sender spliced to a listener's rendezvous connection). */
  relayedConnections: number;
  /** Listener control channels opened. */
  controlChannels: number;
}

export interface RelayEmulator {
  readonly port: number;
  /** "127.0.0.1:PORT", for host maps. */
  readonly address: string;
  readonly faults: RelayEmulatorFaults;
  /** Online listeners of one hybrid connection. */
  listenerCount(host: string, path: string): number;
  /** How many distinct hybrid connections of a cluster have carried a relayed connection. */
  usedHybridConnections(clusterId: string): number;
  /** Counts since start, for benchmarks (dials per command). */
  counters(): RelayCounters;
  /** When messages towards senders passed the relay, for the benchmark's watch delivery (delivery-probe.ts). */
  readonly deliveryProbe: DeliveryProbe;
  /** Closes listeners and relayed connections with 1001, then the server. */
  close(): Promise<void>;
}

const HC_PREFIX = '/$hc/';

interface Target {
  host: string;
  /** Entity path as registered (the request path may add a suffix after it). */
  entry: HybridConnectionEntry;
  entityPath: string;
  url: URL;
}

export async function createRelayEmulator(opts: RelayEmulatorOptions): Promise<RelayEmulator> {
  const { directory } = opts;
  const now = opts.now ?? Date.now;
  const maxListeners = opts.maxListeners ?? 25;
  const rendezvous = new RendezvousTable(opts.acceptTimeoutMs ?? 30_000);
  const channels = new Map<HybridConnectionEntry, Set<ControlChannel>>();
  const relayed = new Set<WebSocket>();
  const relayedByEntry = new Map<HybridConnectionEntry, Set<WebSocket>>();
  const usedByCluster = new Map<string, Set<string>>();
  const sockets = new Set<TLSSocket>();
  const seenSignatures = new Set<string>();
  const revokedSignatures = new Set<string>();
  let closing = false;
  let relayedCount = 0;
  let controlChannelCount = 0;
  const deliveryProbe = new DeliveryProbe();

  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, clientTracking: false });
  const server = https.createServer({ cert: opts.tls.cert, key: opts.tls.key });

  server.on('secureConnection', (socket: TLSSocket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  server.on('tlsClientError', () => undefined);
  server.on('request', (_req: IncomingMessage, res: ServerResponse) => {
    res.writeHead(400, 'Bad Request', { 'content-type': 'text/plain' });
    res.end('This relay emulator speaks only the Hybrid Connections WebSocket protocol (/$hc/...).\n');
  });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => undefined); // a peer reset must not crash the emulator
    try {
      onUpgrade(req, socket, head);
    } catch {
      refuseUpgrade(socket, { status: 500, description: 'Internal Server Error: Something went wrong in the service.' });
    }
  });

  function resolveTarget(req: IncomingMessage): Target | ServiceFailure {
    const host = (req.headers.host ?? '').replace(/:\d+$/, '').toLowerCase();
    const url = new URL(req.url ?? '/', 'https://relay.invalid');
    const notFound = (path: string) => ({ status: 404, description: withTracking('Endpoint does not exist.', host, path, now()) });
    if (!url.pathname.startsWith(HC_PREFIX)) return notFound(url.pathname);
    let segments: string[];
    try {
      segments = url.pathname.slice(HC_PREFIX.length).split('/').filter(Boolean).map(decodeURIComponent);
    } catch {
      return notFound(url.pathname);
    }
    // The path may carry a suffix after the registered name (dispatch arguments): longest match wins.
    for (let n = segments.length; n > 0; n--) {
      const entityPath = segments.slice(0, n).join('/');
      const entry = directory.find(host, entityPath);
      if (entry) return { host, entry, entityPath: entry.hybridConnectionName, url };
    }
    return notFound(segments.join('/'));
  }

  function checkToken(target: Target, token: string | undefined, right: RelayRight): TokenCheck {
    const result = checkRelayToken({
      entry: target.entry,
      entityUri: `http://${target.host}/${target.entityPath}`,
      token,
      right,
      nowMs: now(),
      isRevoked: (sig) => revokedSignatures.has(sig),
    });
    if (result.ok) seenSignatures.add(result.signature);
    return result;
  }

  function tokenOf(req: IncomingMessage, url: URL): string | undefined {
    const header = req.headers.servicebusauthorization;
    const value = Array.isArray(header) ? header[0] : header;
    return value || url.searchParams.get('sb-hc-token') || undefined;
  }

  function failWithTracking(socket: Duplex, failure: ServiceFailure, target: Target): void {
    refuseUpgrade(socket, { status: failure.status, description: withTracking(failure.description, target.host, target.entityPath, now()) });
  }

  function onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    if (closing) {
      refuseUpgrade(socket, { status: 503, description: 'Service Unavailable: the relay is shutting down.' });
      return;
    }
    const target = resolveTarget(req);
    if (!('entry' in target)) {
      refuseUpgrade(socket, target);
      return;
    }
    const action = target.url.searchParams.get('sb-hc-action');
    switch (action) {
      case 'listen':
        return onListen(req, socket, head, target);
      case 'connect':
        return onConnect(req, socket, head, target);
      case 'accept':
        return onAccept(req, socket, head, target);
      default:
        return failWithTracking(socket, { status: 400, description: `Bad Request: sb-hc-action '${action ?? ''}' is not listen, connect or accept.` }, target);
    }
  }

  function onListen(req: IncomingMessage, socket: Duplex, head: Buffer, target: Target): void {
    const check = checkToken(target, tokenOf(req, target.url), 'Listen');
    if (!check.ok) return failWithTracking(socket, check, target);
    const existing = channels.get(target.entry) ?? new Set<ControlChannel>();
    if (existing.size >= maxListeners) {
      return failWithTracking(
        socket,
        { status: 403, description: `QuotaExceeded: The hybrid connection already has the maximum of ${maxListeners} listeners.` },
        target,
      );
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      const channel = new ControlChannel({
        ws,
        entry: target.entry,
        expiry: check.expiry,
        now,
        checkRenewal: (token) => checkToken(target, token, 'Listen'),
        onClosed: (c) => channels.get(c.entry)?.delete(c),
      });
      channels.set(target.entry, existing);
      existing.add(channel);
      controlChannelCount++;
    });
  }

  function pickListener(entry: HybridConnectionEntry): ControlChannel | undefined {
    const open = [...(channels.get(entry) ?? [])].filter((c) => c.open);
    return open[Math.floor(Math.random() * open.length)];
  }

  function onConnect(req: IncomingMessage, socket: Duplex, head: Buffer, target: Target): void {
    const check = checkToken(target, tokenOf(req, target.url), 'Send');
    if (!check.ok) return failWithTracking(socket, check, target);
    const listener = pickListener(target.entry);
    if (!listener) {
      return failWithTracking(socket, { status: 404, description: 'Endpoint does not exist. No listener is connected to this hybrid connection.' }, target);
    }
    const pending = rendezvous.add(target.entry, req, socket, head, target.url.searchParams.get('sb-hc-id'), (p) =>
      failWithTracking(p.socket, { status: 504, description: 'Gateway Timeout: The listener did not accept the connection in time.' }, target),
    );
    const address = new URL(`wss://${target.host}${target.url.pathname}`);
    for (const [k, v] of target.url.searchParams) if (!k.startsWith('sb-hc-')) address.searchParams.append(k, v);
    address.searchParams.set('sb-hc-action', 'accept');
    address.searchParams.set('sb-hc-id', pending.id);
    listener.sendAccept({
      address: address.toString(),
      id: pending.id,
      connectHeaders: connectHeadersOf(req),
      remoteEndpoint: { address: req.socket.remoteAddress ?? '', port: req.socket.remotePort ?? 0 },
    });
  }

  function onAccept(req: IncomingMessage, socket: Duplex, head: Buffer, target: Target): void {
    const pending = rendezvous.claim(target.url.searchParams.get('sb-hc-id'), target.entry);
    if (!pending) return failWithTracking(socket, { status: 403, description: 'Forbidden: The URL is not valid.' }, target);
    const statusParam = target.url.searchParams.get('sb-hc-statusCode');
    if (statusParam !== null) return onReject(socket, pending, statusParam, target);
    wss.handleUpgrade(req, socket, head, (listenerWs) => {
      wss.handleUpgrade(pending.req, pending.socket, pending.head, (senderWs) => {
        const clusterKey = target.entry.clusterId.toLowerCase();
        usedByCluster.set(clusterKey, (usedByCluster.get(clusterKey) ?? new Set<string>()).add(target.entry.hybridConnectionName));
        const onEntry = relayedByEntry.get(target.entry) ?? new Set<WebSocket>();
        relayedByEntry.set(target.entry, onEntry);
        for (const ws of [listenerWs, senderWs]) {
          relayed.add(ws);
          onEntry.add(ws);
          ws.once('close', () => {
            relayed.delete(ws);
            onEntry.delete(ws);
            if (onEntry.size === 0 && relayedByEntry.get(target.entry) === onEntry) relayedByEntry.delete(target.entry);
          });
        }
        relayedCount++;
        splice(senderWs, listenerWs, { probe: deliveryProbe });
      });
    });
  }

  function onReject(socket: Duplex, pending: PendingConnect, statusParam: string, target: Target): void {
    const status = Number(statusParam);
    const valid = /^\d{3}$/.test(statusParam) && status >= 400 && status <= 599;
    const description = sanitizeReason(target.url.searchParams.get('sb-hc-statusDescription') ?? '');
    // The listener's handshake ends in 410 by design; the sender gets the listener's answer.
    refuseUpgrade(socket, { status: 410, description: 'Gone: The connection was rejected.' });
    refuseUpgrade(
      pending.socket,
      valid ? { status, description } : { status: 500, description: 'Internal Server Error: The listener sent an invalid status code.' },
    );
  }

  // A deleted hybrid connection: its listeners and relayed connections close with 1001 (Relay
  // protocol: the entity was deleted or disabled); senders still waiting for an accept get the
  // 404 a connect to it gets from now on.
  const onDeleted = (entry: HybridConnectionEntry): void => {
    const gone = 'The hybrid connection was deleted.';
    rendezvous.drainEntry(entry, (p) => {
      const host = directory.host(entry);
      refuseUpgrade(p.socket, { status: 404, description: withTracking('Endpoint does not exist.', host, entry.hybridConnectionName, now()) });
    });
    for (const channel of [...(channels.get(entry) ?? [])]) channel.close(1001, gone);
    channels.delete(entry);
    for (const ws of [...(relayedByEntry.get(entry) ?? [])]) if (ws.readyState === WebSocket.OPEN) ws.close(1001, gone);
    relayedByEntry.delete(entry);
  };
  directory.on('deleted', onDeleted);

  const faults: RelayEmulatorFaults = {
    dropAllConnections() {
      for (const socket of [...sockets]) socket.destroy();
      front.destroyAll();
    },
    expireTokensNow() {
      for (const sig of seenSignatures) revokedSignatures.add(sig);
      for (const set of channels.values()) for (const channel of [...set]) channel.expire();
    },
    setLatency: (ms) => front.setLatency(ms),
  };

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    // Clients reach it through the front door below; this port only takes its delayed pipes.
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const front = await startLatencyFront({
    backend: server,
    host: opts.host ?? '127.0.0.1',
    port: opts.port ?? 0,
    latencyMs: opts.latencyMs ?? 0,
    alwaysDelay: opts.latencyMs !== undefined,
  }).catch(async (err: unknown) => {
    await new Promise((resolve) => server.close(resolve));
    throw err;
  });
  const { port, host: boundHost } = front;

  return {
    port,
    address: `${boundHost}:${port}`,
    faults,
    listenerCount(host: string, path: string): number {
      const entry = directory.find(host, path);
      if (!entry) return 0;
      return [...(channels.get(entry) ?? [])].filter((c) => c.open).length;
    },
    usedHybridConnections: (clusterId) => usedByCluster.get(clusterId.toLowerCase())?.size ?? 0,
    deliveryProbe,
    counters: () => ({ tcpConnections: front.acceptedConnections, relayedConnections: relayedCount, controlChannels: controlChannelCount }),
    async close(): Promise<void> {
      if (closing) return;
      closing = true;
      directory.off('deleted', onDeleted);
      rendezvous.drain((p) => refuseUpgrade(p.socket, { status: 503, description: 'Service Unavailable: the relay is shutting down.' }));
      for (const set of channels.values()) for (const channel of [...set]) channel.close(1001, 'The relay is shutting down.');
      for (const ws of [...relayed]) if (ws.readyState === WebSocket.OPEN) ws.close(1001, 'The relay is shutting down.');
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // Give close handshakes a moment (through the delay, if any), then cut whatever is left.
      await waitUntilEmpty(sockets, 1000 + 4 * front.latencyMs);
      for (const socket of [...sockets]) socket.destroy();
      front.destroyAll();
      await Promise.all([closed, front.close()]);
    },
  };
}

/** Headers the sender supplied, minus its relay token (the listener must never see it). */
function connectHeadersOf(req: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i]!;
    if (name.toLowerCase() === 'servicebusauthorization') continue;
    headers[name] = headers[name] === undefined ? req.rawHeaders[i + 1]! : `${headers[name]}, ${req.rawHeaders[i + 1]!}`;
  }
  return headers;
}

function waitUntilEmpty(sockets: Set<TLSSocket>, timeoutMs: number): Promise<void> {
  return new Promise((resolve) => {
    if (sockets.size === 0) return resolve();
    let remaining = sockets.size;
    const done = () => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(done, timeoutMs);
    for (const socket of sockets) {
      socket.once('close', () => {
        if (--remaining === 0) done();
      });
    }
  });
}
