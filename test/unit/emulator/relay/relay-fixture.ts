/**
 * Test fixture: a relay emulator with its own CA, two registered hybrid connections, and a plain
 * `ws` client that reaches a relay host through 127.0.0.1 (Host header + SNI carry the name).
 */
import WebSocket from 'ws';
import type { IncomingMessage } from 'node:http';
import { createCertificateAuthority, issueServerCertificate } from '../../../../src/pki/certs.js';
import { RelayDirectory, type HybridConnectionEntry } from '../../../../src/emulator/relay-directory.js';
import { createRelayEmulator, type RelayEmulator, type RelayEmulatorOptions } from '../../../../src/emulator/relay/index.js';

export const RELAY_SUFFIX = 'relay.test';

export interface RelayFixture {
  ca: string;
  /** The relay's server certificate and key (covering *.relay.test), for stand-in servers. */
  tlsCert: string;
  tlsKey: string;
  directory: RelayDirectory;
  entry: HybridConnectionEntry;
  other: HybridConnectionEntry;
  relay: RelayEmulator;
  host: string;
  cloud: { ca: string; hostMap: Record<string, string> };
  sendToken(entry?: HybridConnectionEntry, expiry?: number): string;
  listenToken(entry?: HybridConnectionEntry, expiry?: number): string;
  /** `$hc` URL for an entry and action (path segments encoded). */
  url(entry: HybridConnectionEntry, action: string, extra?: string): string;
}

export const nowSeconds = () => Math.floor(Date.now() / 1000);

export async function startRelayFixture(options: Partial<Omit<RelayEmulatorOptions, 'directory' | 'tls'>> = {}): Promise<RelayFixture> {
  const ca = await createCertificateAuthority('relay test CA');
  const tls = await issueServerCertificate(ca, { commonName: 'relay', dnsNames: [`*.${RELAY_SUFFIX}`] });
  const directory = new RelayDirectory(RELAY_SUFFIX);
  const entry = directory.issue('/subscriptions/s/resourceGroups/rg/providers/Microsoft.Kubernetes/connectedClusters/one', 'eastus');
  const other = directory.issue('/subscriptions/s/resourceGroups/rg/providers/Microsoft.Kubernetes/connectedClusters/two', 'eastus');
  const relay = await createRelayEmulator({ directory, tls, ...options });
  const host = directory.host(entry);
  return {
    ca: ca.cert,
    tlsCert: tls.cert,
    tlsKey: tls.key,
    directory,
    entry,
    other,
    relay,
    host,
    cloud: { ca: ca.cert, hostMap: { [`*.${RELAY_SUFFIX}`]: relay.address } },
    sendToken: (e = entry, expiry = nowSeconds() + 3600) => directory.sendToken(e, expiry),
    listenToken: (e = entry, expiry = nowSeconds() + 3600) => directory.listenToken(e, expiry),
    url: (e, action, extra = '') =>
      `wss://${directory.host(e)}/$hc/${e.hybridConnectionName.split('/').map(encodeURIComponent).join('/')}?sb-hc-action=${action}${extra}`,
  };
}

/** A plain ws client for a relay URL: TCP to the emulator, Host header and SNI for the relay name. */
export function rawClient(fx: RelayFixture, url: string, headers: Record<string, string> = {}): WebSocket {
  const parsed = new URL(url);
  const target = new URL(`wss://${fx.relay.address}${parsed.pathname}${parsed.search}`);
  // ws hands these to https.request/tls.connect; `servername` (SNI) is a TLS option its types omit.
  const options: WebSocket.ClientOptions & { servername: string } = {
    ca: fx.ca,
    servername: parsed.hostname,
    headers: { Host: parsed.host, ...headers },
    perMessageDeflate: false,
  };
  return new WebSocket(target, options);
}

export type HandshakeResult = { opened: true } | { opened: false; status: number; statusMessage: string };

/** Resolves once the handshake opened or was refused with an HTTP status. */
export function handshake(ws: WebSocket): Promise<HandshakeResult> {
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve({ opened: true }));
    ws.once('unexpected-response', (req, res: IncomingMessage) => {
      resolve({ opened: false, status: res.statusCode ?? 0, statusMessage: res.statusMessage ?? '' });
      res.resume();
      req.destroy();
    });
    ws.on('error', (err) => {
      if (ws.readyState === WebSocket.CONNECTING) reject(err);
    });
  });
}

export function nextClose(ws: WebSocket): Promise<{ code: number; reason: string }> {
  return new Promise((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
}

export function nextMessage(ws: WebSocket): Promise<{ data: Buffer; isBinary: boolean }> {
  return new Promise((resolve) => ws.once('message', (data, isBinary) => resolve({ data: data as Buffer, isBinary })));
}

export interface AcceptMessage {
  accept: { address: string; id: string; connectHeaders: Record<string, string>; remoteEndpoint: { address: string; port: number } };
}

/** Opens a raw listener control channel and waits until it is online. */
export async function rawListener(fx: RelayFixture, token = fx.listenToken(), entry = fx.entry): Promise<WebSocket> {
  const ws = rawClient(fx, fx.url(entry, 'listen', '&sb-hc-id=test-listener'), { ServiceBusAuthorization: token });
  const result = await handshake(ws);
  if (!result.opened) throw new Error(`listen refused: ${result.status} ${result.statusMessage}`);
  return ws;
}

/** Makes a raw listener accept every sender and echo what it receives. */
export function echoAll(fx: RelayFixture, control: WebSocket, accepted: AcceptMessage[] = []): AcceptMessage[] {
  control.on('message', (data) => {
    const msg = JSON.parse(data.toString()) as AcceptMessage;
    if (!msg.accept) return;
    accepted.push(msg);
    const rendezvous = rawClient(fx, msg.accept.address);
    rendezvous.on('error', () => undefined);
    rendezvous.on('message', (payload, isBinary) => rendezvous.send(payload, { binary: isBinary }));
  });
  return accepted;
}

/** Bounded polling for a condition (never a fixed sleep). */
export async function until(condition: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
