/**
 * The emulator's admin endpoint: fault hooks over loopback HTTPS for tests that drive the
 * emulator as a separate process. Requests carry the admin key from the env file.
 *
 *   POST /faults/drop-relay-connections
 *   POST /faults/expire-relay-tokens
 *   POST /faults/agent                {"cluster":"demo","online":false}
 *   POST /faults/arm                  {"count":2,"status":429,"retryAfterSeconds":1}
 *   POST /faults/entra-throttle       {"count":1,"retryAfterSeconds":60}
 *   POST /faults/token-lifetime       {"seconds":30}
 *   POST /faults/relay-token-lifetime {"seconds":30}
 *   POST /faults/relay-listener-delay {"ms":1500}
 *   POST /faults/relay-latency        {"ms":20}
 *   GET  /hybrid-connections?cluster=demo  -> {"issued":3,"live":2,"used":2}
 *   GET  /relay-counters              -> {"tcpConnections":9,"relayedConnections":4,"controlChannels":2}
 */
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { EmulatorFaults } from './faults.js';
import type { RelayCounters } from './relay/index.js';

/** A cluster's hybrid connections: issued so far, alive now, used by a sender. */
export type HybridConnectionCounts = (cluster: string) => { issued: number; live: number; used: number };

export interface AdminServer {
  url: string;
  key: string;
  close(): Promise<void>;
}

const MAX_BODY = 64 * 1024;

function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) reject(new Error('body too large'));
      else chunks.push(c);
    });
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8').trim();
      try {
        resolve(text ? (JSON.parse(text) as Record<string, unknown>) : {});
      } catch {
        reject(new Error('body is not JSON'));
      }
    });
    req.on('error', reject);
  });
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(`${JSON.stringify(body)}\n`);
}

function num(body: Record<string, unknown>, key: string): number {
  const v = body[key];
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new Error(`"${key}" must be a non-negative number`);
  return v;
}

export async function startAdminServer(opts: {
  tls: { cert: string; key: string };
  host: string;
  port: number;
  faults: EmulatorFaults;
  hybridConnections: HybridConnectionCounts;
  relayCounters: () => RelayCounters;
}): Promise<AdminServer> {
  const key = randomBytes(24).toString('hex');
  const expected = Buffer.from(`Bearer ${key}`);
  const { faults } = opts;
  const routes: Record<string, (body: Record<string, unknown>) => Promise<void> | void> = {
    'drop-relay-connections': () => faults.dropRelayConnections(),
    'expire-relay-tokens': () => faults.expireRelayTokens(),
    agent: (b) => faults.setAgentOnline(String(b.cluster ?? 'demo'), b.online !== false),
    arm: (b) => {
      const status = num(b, 'status');
      if (status !== 429 && status !== 500) throw new Error('"status" must be 429 or 500');
      faults.armFailNext(num(b, 'count'), status, b.retryAfterSeconds === undefined ? undefined : num(b, 'retryAfterSeconds'));
    },
    'entra-throttle': (b) => faults.entraThrottleNext(num(b, 'count'), b.retryAfterSeconds === undefined ? undefined : num(b, 'retryAfterSeconds')),
    'token-lifetime': (b) => faults.setTokenLifetime(num(b, 'seconds')),
    'relay-token-lifetime': (b) => faults.setRelayTokenLifetime(num(b, 'seconds')),
    'device-codes': (b) => {
      if (b.approval !== 'automatic' && b.approval !== 'manual') throw new Error('"approval" must be "automatic" or "manual"');
      faults.setDeviceCodeApproval(b.approval, b.intervalSeconds === undefined ? undefined : num(b, 'intervalSeconds'));
    },
    'approve-device-code': (b) => {
      if (typeof b.userCode !== 'string' || !faults.approveDeviceCode(b.userCode)) throw new Error('no pending device-code sign-in has that "userCode"');
    },
    'relay-listener-delay': (b) => faults.setRelayListenerDelay(num(b, 'ms')),
    'relay-latency': (b) => faults.setRelayLatency(num(b, 'ms')),
  };
  const server: Server = createServer({ cert: opts.tls.cert, key: opts.tls.key }, (req, res) => {
    const auth = Buffer.from(req.headers.authorization ?? '');
    if (auth.length !== expected.length || !timingSafeEqual(auth, expected))
      return send(res, 401, { error: 'admin key required (ARCPROXY_EMULATOR_ADMIN_KEY)' });
    const url = new URL(req.url ?? '/', 'https://admin.invalid');
    if (req.method === 'GET' && url.pathname === '/hybrid-connections') {
      try {
        return send(res, 200, opts.hybridConnections(url.searchParams.get('cluster') ?? 'demo'));
      } catch (err) {
        return send(res, 404, { error: (err as Error).message });
      }
    }
    if (req.method === 'GET' && url.pathname === '/relay-counters') return send(res, 200, opts.relayCounters());
    const m = /^\/faults\/([a-z-]+)$/.exec(req.url ?? '');
    const route = m ? routes[m[1]!] : undefined;
    if (req.method !== 'POST' || !route) return send(res, 404, { error: 'unknown fault', faults: Object.keys(routes) });
    readJson(req)
      .then((body) => route(body))
      .then(
        () => send(res, 200, { ok: true }),
        (err: Error) => send(res, 400, { error: err.message }),
      );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `https://${opts.host}:${port}`,
    key,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
