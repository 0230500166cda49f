/**
 * The Hybrid Connections sender: opens one WebSocket to the relay that the service joins with a
 * WebSocket from a listener (the cluster's agent). After the 101 it is a byte stream to the agent.
 *
 *   wss://{relayHost}/$hc/{hybridConnectionName}?sb-hc-action=connect&sb-hc-id={uuid}
 *   ServiceBusAuthorization: SharedAccessSignature sr=...&sig=...&se=...&skn=...
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ClientRequest } from 'node:http';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import WebSocket from 'ws';
import type { CloudProfile } from '../net/cloud-profile.js';
import { tlsOptionsFor } from '../net/endpoints.js';
import { redactSas } from './sas.js';
import { RelayError } from './errors.js';
import { webSocketStream, type KeepAliveOptions } from './stream.js';

export interface RelayConnectOptions {
  /** `${relay}.${relaySuffix}`, optionally with `:port`. */
  relayHost: string;
  hybridConnectionName: string;
  /** The Send SAS. */
  token: string;
  cloud: Pick<CloudProfile, 'ca' | 'hostMap'>;
  /** Whole handshake (TCP, TLS, relay, listener accept). Default 10000. */
  connectTimeoutMs?: number;
  signal?: AbortSignal;
  /** Ping with a pong deadline on the open connection; default every 20 s, 10 s deadline. false = none. */
  keepAlive?: KeepAliveOptions | false;
  /**
   * The session's id, sent on the handshake as Microsoft's helper does: the relay hands a sender's
   * connect headers to the listener, whose logs then name the session (docs/compatibility.md).
   */
  correlationId?: string;
  /** Told the relay's answer to the handshake (the 101, or the refusal): `arcproxy diagnose` shows it. */
  onHandshake?: (answer: HandshakeAnswer) => void;
}

/** The status line and headers of the relay's answer to a sender's handshake (never the SAS, which is only sent). */
export interface HandshakeAnswer {
  status: number;
  statusMessage: string;
  rawHeaders: string[];
}

/** Microsoft's tracing header: one id per session (docs/compatibility.md). */
const CORRELATION_HEADER = 'x-ms-correlation-request-id';

/** A dead connection (no pong) is noticed within interval + deadline: 30 s by default. */
const DEFAULT_KEEP_ALIVE: KeepAliveOptions = { intervalMs: 20_000, timeoutMs: 10_000 };

export interface RelayConnection {
  readonly ws: WebSocket;
  readonly stream: Duplex;
  /** Closes the connection (1000) and the stream. */
  close(): void;
}

const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

/** `$hc/` path of a hybrid connection: each segment URL-encoded, slashes kept. */
export function hybridConnectionPath(hybridConnectionName: string): string {
  return `/$hc/${hybridConnectionName.split('/').map(encodeURIComponent).join('/')}`;
}

/**
 * WebSocket client options for any relay connection (sender here, listener in the emulator):
 * compression off (it cost ~80 % of bulk throughput), and TLS through the cloud profile's host
 * map and CA. ws hands `createConnection` the request options; the mapped address replaces the
 * destination while TLS keeps verifying the relay's own name.
 */
export function relayWebSocketOptions(cloud: Pick<CloudProfile, 'ca' | 'hostMap'>, relayHost: string): WebSocket.ClientOptions {
  const url = new URL(`wss://${relayHost}`);
  const host = url.hostname;
  const port = url.port ? Number(url.port) : 443;
  // Only the TLS options go to tls.connect, not ws's whole request options (headers with the SAS,
  // path, agent, ...): Node keeps the object given to tls.connect on the socket for as long as it
  // lives, ~0.7 KB of heap per relay connection, and every watch holds one. Of ws's options only
  // `timeout` (handshakeTimeout, unset here) concerns the socket.
  const createConnection = (options: tls.ConnectionOptions) =>
    tls.connect({ ...(options.timeout !== undefined ? { timeout: options.timeout } : {}), ...tlsOptionsFor(cloud, host, port) });
  return {
    perMessageDeflate: false,
    followRedirects: false,
    createConnection: createConnection as unknown as WebSocket.ClientOptions['createConnection'],
  };
}

export async function connectToRelay(opts: RelayConnectOptions): Promise<RelayConnection> {
  opts.signal?.throwIfAborted();
  const url = `wss://${opts.relayHost}${hybridConnectionPath(opts.hybridConnectionName)}?sb-hc-action=connect&sb-hc-id=${randomUUID()}`;
  const where = `hybrid connection "${opts.hybridConnectionName}" on ${opts.relayHost}`;
  const timeoutMs = opts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;

  const ws = new WebSocket(url, {
    ...relayWebSocketOptions(opts.cloud, opts.relayHost),
    headers: { ServiceBusAuthorization: opts.token, ...(opts.correlationId ? { [CORRELATION_HEADER]: opts.correlationId } : {}) },
  });

  return new Promise<RelayConnection>((resolve, reject) => {
    let settled = false;
    const timer = setTimeout(
      () =>
        fail(
          new RelayError(
            'ARCPROXY_RELAY_TIMEOUT',
            `Azure Relay did not connect to ${where} within ${timeoutMs} ms. Check the network path to the relay and that the cluster's agent is healthy.`,
          ),
        ),
      timeoutMs,
    );
    const onAbort = () => fail(opts.signal?.reason instanceof Error ? opts.signal.reason : new DOMException('The relay connection was aborted.', 'AbortError'));
    opts.signal?.addEventListener('abort', onAbort, { once: true });

    function cleanup(): void {
      settled = true;
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      ws.off('open', onOpen);
      ws.off('unexpected-response', onUnexpectedResponse);
    }

    function fail(err: Error): void {
      if (settled) return;
      cleanup();
      if (ws.readyState !== WebSocket.CLOSED) ws.terminate();
      reject(err);
    }

    function onOpen(): void {
      if (settled) return;
      cleanup();
      ws.off('error', onHandshakeError);
      const keepAlive = opts.keepAlive === undefined ? DEFAULT_KEEP_ALIVE : opts.keepAlive;
      const stream = webSocketStream(ws, keepAlive ? { keepAlive } : {});
      resolve({ ws, stream, close: () => stream.destroy() });
    }

    function onUnexpectedResponse(req: ClientRequest, res: IncomingMessage): void {
      const description = res.statusMessage ?? '';
      tell(res);
      res.resume();
      req.destroy();
      fail(handshakeError(res.statusCode ?? 0, description, where));
    }

    function onHandshakeError(err: Error): void {
      if (settled) return; // errors after a timeout/abort/response are the teardown's echo
      fail(
        new RelayError(
          'ARCPROXY_RELAY_UNREACHABLE',
          `Could not reach Azure Relay for ${where}: ${redactSas(err.message)}. Check network access to ${opts.relayHost} (port 443) and, for a private CA, the cloud profile's "ca".`,
          { cause: err },
        ),
      );
    }

    function tell(res: IncomingMessage): void {
      opts.onHandshake?.({ status: res.statusCode ?? 0, statusMessage: res.statusMessage ?? '', rawHeaders: res.rawHeaders });
    }

    if (opts.onHandshake) ws.once('upgrade', tell);
    ws.on('open', onOpen);
    ws.on('unexpected-response', onUnexpectedResponse);
    ws.on('error', onHandshakeError);
  });
}

/** Maps a refused relay handshake (status line of the service or the listener) to a RelayError. */
function handshakeError(status: number, description: string, where: string): RelayError {
  const said = description ? ` (${status} ${description})` : ` (${status})`;
  const details = { httpStatus: status };
  switch (status) {
    case 404:
      return new RelayError(
        'ARCPROXY_RELAY_NO_LISTENER',
        `No listener is online for ${where}${said}: the cluster's agent is not connected to Azure Relay. Check that the cluster shows "Connected" and its clusterconnect-agent is running.`,
        details,
      );
    case 401:
      if (/expired/i.test(description)) {
        return new RelayError(
          'ARCPROXY_RELAY_TOKEN_EXPIRED',
          `Azure Relay refused the relay token for ${where} because it has expired${said}. A new one comes from listClusterUserCredential; check the local clock if this repeats.`,
          details,
        );
      }
      return new RelayError(
        'ARCPROXY_RELAY_UNAUTHORIZED',
        `Azure Relay refused the relay token for ${where}${said}. Fetch a new credential with listClusterUserCredential.`,
        details,
      );
    case 403:
      return new RelayError(
        'ARCPROXY_RELAY_FORBIDDEN',
        `Azure Relay says the relay token is not valid for ${where}${said}. The credential may belong to another cluster or lack the Send right.`,
        details,
      );
    case 408:
    case 504:
      return new RelayError(
        'ARCPROXY_RELAY_TIMEOUT',
        `The connection through Azure Relay to ${where} timed out${said}. The cluster's agent did not accept in time; check its health.`,
        details,
      );
    default:
      return new RelayError('ARCPROXY_RELAY_REJECTED', `The connection to ${where} was refused${said}.`, details);
  }
}
