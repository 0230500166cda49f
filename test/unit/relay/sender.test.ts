/** connectToRelay against the emulated relay: host map + CA, and handshake failure mapping. */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import WebSocket from 'ws';
import { connectToRelay, type RelayConnectOptions } from '../../../src/relay/sender.js';
import { RelayError } from '../../../src/relay/errors.js';
import { ExitCode } from '../../../src/errors/index.js';
import {
  echoAll,
  nowSeconds,
  rawClient,
  rawListener,
  startRelayFixture,
  until,
  type AcceptMessage,
  type RelayFixture,
} from '../emulator/relay/relay-fixture.js';

let fx: RelayFixture;
const cleanups: (() => void)[] = [];

beforeAll(async () => {
  fx = await startRelayFixture();
});
afterEach(async () => {
  for (const c of cleanups.splice(0)) c();
  await until(() => fx.relay.listenerCount(fx.host, fx.entry.hybridConnectionName) === 0, 5000, 'listeners gone');
});
afterAll(async () => {
  await fx.relay.close();
});

async function onlineEchoListener(): Promise<AcceptMessage[]> {
  const control = await rawListener(fx);
  control.on('error', () => undefined);
  cleanups.push(() => control.terminate());
  return echoAll(fx, control);
}

function options(overrides: Partial<RelayConnectOptions> = {}): RelayConnectOptions {
  return { relayHost: fx.host, hybridConnectionName: fx.entry.hybridConnectionName, token: fx.sendToken(), cloud: fx.cloud, ...overrides };
}

async function failure(p: Promise<unknown>): Promise<RelayError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(RelayError);
  return err as RelayError;
}

describe('connectToRelay', () => {
  it('connects through the host map with TLS verifying the relay name, and streams bytes', async () => {
    const accepted = await onlineEchoListener();
    const conn = await connectToRelay(options());
    cleanups.push(() => conn.close());
    expect(conn.ws.readyState).toBe(WebSocket.OPEN);
    expect(conn.ws.url).toMatch(
      new RegExp(
        `^wss://${fx.host.replace(/\./g, '\\.')}/\\$hc/microsoft\\.kubernetes/connectedclusters/[0-9a-f]{64}/\\d+\\?sb-hc-action=connect&sb-hc-id=[0-9a-f-]{36}$`,
      ),
    );
    const echoed = new Promise<string>((resolve) => conn.stream.once('data', (d: Buffer) => resolve(d.toString())));
    conn.stream.write('ping through the relay');
    expect(await echoed).toBe('ping through the relay');
    expect(accepted).toHaveLength(1);
    // The Host header the relay saw is the relay's name, not the mapped address.
    expect(accepted[0]!.accept.connectHeaders.Host ?? accepted[0]!.accept.connectHeaders.host).toBe(fx.host);
  });

  it('refuses a relay whose certificate does not match the name (UNREACHABLE), even when mapped', async () => {
    const err = await failure(
      connectToRelay(options({ relayHost: 'demo.elsewhere.test', cloud: { ca: fx.ca, hostMap: { 'demo.elsewhere.test': fx.relay.address } } })),
    );
    expect(err.code).toBe('ARCPROXY_RELAY_UNREACHABLE');
    expect(err.message).toMatch(/demo\.elsewhere\.test/);
  });

  it('refuses a relay whose CA is not trusted (UNREACHABLE)', async () => {
    const err = await failure(connectToRelay(options({ cloud: { hostMap: fx.cloud.hostMap } })));
    expect(err.code).toBe('ARCPROXY_RELAY_UNREACHABLE');
    expect(err.exitCode).toBe(ExitCode.serviceUnavailable);
  });

  it('maps 404 (no listener online) to NO_LISTENER', async () => {
    const err = await failure(connectToRelay(options()));
    expect(err.code).toBe('ARCPROXY_RELAY_NO_LISTENER');
    expect(err.httpStatus).toBe(404);
    expect(err.message).toMatch(/Endpoint does not exist/);
  });

  it('maps 401 ExpiredToken to TOKEN_EXPIRED and a bad signature to UNAUTHORIZED, never echoing the token', async () => {
    await onlineEchoListener();
    const expired = fx.sendToken(fx.entry, nowSeconds() - 10);
    const e1 = await failure(connectToRelay(options({ token: expired })));
    expect(e1.code).toBe('ARCPROXY_RELAY_TOKEN_EXPIRED');
    expect(e1.httpStatus).toBe(401);
    const tampered = fx.sendToken().replace(/sig=([^&])/, (_m, c: string) => `sig=${c === 'x' ? 'y' : 'x'}`);
    const e2 = await failure(connectToRelay(options({ token: tampered })));
    expect(e2.code).toBe('ARCPROXY_RELAY_UNAUTHORIZED');
    for (const e of [e1, e2]) {
      expect(e.message).not.toContain('sig=');
      expect(e.message).not.toContain(fx.entry.sendKey);
    }
  });

  it('maps 403 (token of another hybrid connection, or Listen-only) to FORBIDDEN', async () => {
    await onlineEchoListener();
    expect((await failure(connectToRelay(options({ token: fx.sendToken(fx.other) })))).code).toBe('ARCPROXY_RELAY_FORBIDDEN');
    expect((await failure(connectToRelay(options({ token: fx.listenToken() })))).code).toBe('ARCPROXY_RELAY_FORBIDDEN');
  });

  it("maps a listener's reject to REJECTED with its status and description", async () => {
    const control = await rawListener(fx);
    control.on('error', () => undefined);
    cleanups.push(() => control.terminate());
    control.on('message', (d) => {
      const { accept } = JSON.parse(d.toString()) as AcceptMessage;
      const url = new URL(accept.address);
      url.searchParams.set('sb-hc-statusCode', '429');
      url.searchParams.set('sb-hc-statusDescription', 'Agent is busy');
      const ws = rawClient(fx, url.toString());
      ws.on('error', () => undefined);
      ws.on('unexpected-response', (req, res) => {
        res.resume();
        req.destroy();
      });
    });
    const err = await failure(connectToRelay(options()));
    expect(err.code).toBe('ARCPROXY_RELAY_REJECTED');
    expect(err.httpStatus).toBe(429);
    expect(err.message).toContain('Agent is busy');
  });

  it('maps a refused TCP connection to UNREACHABLE', async () => {
    const closedPort = await new Promise<number>((resolve) => {
      const s = net.createServer().listen(0, '127.0.0.1', () => {
        const { port } = s.address() as AddressInfo;
        s.close(() => resolve(port));
      });
    });
    const err = await failure(connectToRelay(options({ cloud: { ca: fx.ca, hostMap: { [fx.host]: `127.0.0.1:${closedPort}` } } })));
    expect(err.code).toBe('ARCPROXY_RELAY_UNREACHABLE');
    expect(err.cause).toBeDefined();
  });

  it('times out (TIMEOUT) when the handshake never completes', async () => {
    const held: net.Socket[] = [];
    const silent = net.createServer((s) => held.push(s));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', () => resolve()));
    cleanups.push(() => {
      for (const s of held) s.destroy();
      silent.close();
    });
    const port = (silent.address() as AddressInfo).port;
    const started = Date.now();
    const err = await failure(connectToRelay(options({ connectTimeoutMs: 200, cloud: { ca: fx.ca, hostMap: { [fx.host]: `127.0.0.1:${port}` } } })));
    expect(err.code).toBe('ARCPROXY_RELAY_TIMEOUT');
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
  });

  it('stops a handshake in flight when the signal aborts', async () => {
    const held: net.Socket[] = [];
    // Read (and ignore) what arrives, so the client's hang-up is noticed.
    const silent = net.createServer((s) => held.push(s.resume()));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', () => resolve()));
    cleanups.push(() => silent.close());
    const port = (silent.address() as AddressInfo).port;
    const controller = new AbortController();
    const attempt = connectToRelay(options({ signal: controller.signal, cloud: { ca: fx.ca, hostMap: { [fx.host]: `127.0.0.1:${port}` } } }));
    await until(() => held.length === 1, 5000, 'the TCP connection');
    const closed = new Promise<void>((resolve) => held[0]!.once('close', () => resolve()));
    controller.abort();
    await expect(attempt).rejects.toMatchObject({ name: 'AbortError' });
    await closed; // the socket is released, not leaked
  });

  it('stops when the signal aborts', async () => {
    await onlineEchoListener();
    const controller = new AbortController();
    const reason = new Error('caller gave up');
    controller.abort(reason);
    await expect(connectToRelay(options({ signal: controller.signal }))).rejects.toBe(reason);
  });
});
