/**
 * The emulated cluster side of Cluster Connect: Arc's clusterconnect-agent (an outbound-only
 * relay listener) and kube-aad-proxy (Entra check, impersonation) in one object. Each accepted
 * relay stream is one HTTP/1.1 keep-alive connection, served by a node:http server that never
 * listens and forwarded to the apiserver.
 */
import type { EventEmitter } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { createEntraAuthenticator, type AuthDecision, type Authenticator, type ClusterPolicy, type EntraTrust } from './entra-auth.js';
import { RequestLog, type LogSink } from '../request-log.js';
import { createRequestForwarder } from './http-forward.js';
import { asHttpSocket } from './stream-socket.js';
import { createUpgradeForwarder } from './upgrade-forward.js';
import { Upstream, type ApiserverTarget } from './upstream.js';

export { OVERAGE_MESSAGE, POP_REQUIRED_MESSAGE, type ClusterPolicy } from './entra-auth.js';

/** Where relay streams come from; HybridConnectionListener satisfies it. Emits 'connection' (stream: Duplex). */
export interface StreamSource extends EventEmitter {
  start(): void;
  close(): Promise<void>;
}

export interface ClusterAgentOptions {
  /** Makes a fresh listener each time the agent goes online. */
  source: () => StreamSource;
  /** The apiserver, and the agent's own service-account token (allowed to impersonate). */
  apiserver: ApiserverTarget;
  entra: EntraTrust;
  /** The cluster's ARM id (what a PoP token must name) and whether it enforces PoP. */
  cluster: ClusterPolicy;
  now?: () => number;
  /** Where `arcproxy emulator --log` lines go (request-log.ts); none: no log. */
  requestLog?: LogSink;
}

export interface ClusterAgent {
  start(): void;
  stop(): Promise<void>;
  /** Fault hook: offline closes the listener and destroys active streams; online starts a fresh listener. */
  setOnline(online: boolean): Promise<void>;
  readonly online: boolean;
  /** Serves one accepted relay stream (the listener wiring uses it; so do tests). */
  serveStream(stream: Duplex): void;
  readonly activeStreams: number;
}

export async function createClusterAgent(opts: ClusterAgentOptions): Promise<ClusterAgent> {
  const upstream = new Upstream(opts.apiserver);
  const entra = createEntraAuthenticator(opts.entra, opts.cluster, opts.now);
  const log = opts.requestLog ? new RequestLog(opts.requestLog, 'agent') : undefined;
  // With the log on, each request's decision is kept (by its headers object) to name the caller.
  const decisions = new WeakMap<IncomingHttpHeaders, AuthDecision>();
  const authenticate: Authenticator = log
    ? async (headers) => {
        const decision = await entra(headers);
        decisions.set(headers, decision);
        return decision;
      }
    : entra;
  const callerOf = (req: IncomingMessage): string => {
    const decision = decisions.get(req.headers);
    if (decision?.mode === 'entra') return decision.user;
    return decision?.mode === 'passthrough' ? '(passthrough)' : '-';
  };
  const http = createHttpServer(createRequestForwarder(upstream, authenticate), createUpgradeForwarder(upstream, authenticate));
  if (log) {
    // Registered first, so they see every request before the forwarders answer it.
    http.prependListener('request', (req: IncomingMessage, res: ServerResponse) => log.request(req, res, () => callerOf(req)));
    http.prependListener('upgrade', (req: IncomingMessage, socket: Duplex) => log.upgrade(req, socket, () => callerOf(req)));
  }
  const streams = new Set<Duplex>();
  let source: StreamSource | undefined;
  let stopped = false;
  // Serialises online/offline transitions so a fault hook never races a stop.
  let transition: Promise<void> = Promise.resolve();

  const serveStream = (stream: Duplex): void => {
    if (stopped || stream.destroyed) {
      stream.destroy();
      return;
    }
    streams.add(stream);
    stream.once('close', () => streams.delete(stream));
    // A relay stream cut abruptly (close 1006, token expiry) errors; 'close' does the cleanup,
    // and node:http drops its own error listener once a stream is upgraded.
    stream.on('error', () => {});
    http.emit('connection', asHttpSocket(stream));
  };

  const goOnline = (): void => {
    if (source || stopped) return;
    const s = opts.source();
    // A stream that arrives while this listener is being closed is not served.
    s.on('connection', (stream: Duplex) => (source === s ? serveStream(stream) : stream.destroy()));
    // A listener reports its own faults and reconnects; an unhandled 'error' must not crash the emulator.
    s.on('error', () => {});
    source = s;
    s.start();
  };

  const goOffline = async (): Promise<void> => {
    const s = source;
    source = undefined;
    for (const stream of streams) stream.destroy();
    streams.clear();
    // Its 'connection' handler stays: anything it still hands over is destroyed, not leaked.
    if (s) await s.close();
  };

  let pending = 0;
  const enqueue = (step: () => void | Promise<void>): Promise<void> => {
    pending++;
    const next = transition.then(step).finally(() => pending--);
    transition = next.catch(() => {});
    return next;
  };
  // Going online is synchronous when nothing else is in flight, so `online` is true on return.
  const online = (): Promise<void> => {
    if (pending > 0) return enqueue(goOnline);
    goOnline();
    return Promise.resolve();
  };

  return {
    start: () => {
      online().catch(() => {});
    },
    stop: () => {
      stopped = true;
      return enqueue(async () => {
        await goOffline();
        upstream.close();
      });
    },
    setOnline: (on) => (on ? online() : enqueue(goOffline)),
    get online() {
      return source !== undefined;
    },
    serveStream,
    get activeStreams() {
      return streams.size;
    },
  };
}

function createHttpServer(onRequest: ReturnType<typeof createRequestForwarder>, onUpgrade: ReturnType<typeof createUpgradeForwarder>): Server {
  const server = createServer({ noDelay: true, keepAlive: false });
  // Streams belong to the relay sender's pool: the agent does not cut idle keep-alive streams.
  server.keepAliveTimeout = 0;
  server.timeout = 0;
  server.on('request', onRequest);
  server.on('upgrade', onUpgrade);
  // A malformed request ends its stream; the default answer (400) is fine, but never throw.
  server.on('clientError', (_err: Error, socket: Duplex) => {
    if (!socket.writable) {
      socket.destroy();
      return;
    }
    socket.once('finish', () => socket.destroy());
    socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
  });
  return server;
}
