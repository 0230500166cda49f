/** HybridConnectionListener (the emulated agent's relay side) against the emulated relay. */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { HybridConnectionListener, type AcceptInfo, type HybridConnectionListenerOptions } from '../../../../src/emulator/relay/listener.js';
import { connectToRelay } from '../../../../src/relay/sender.js';
import { RelayError } from '../../../../src/relay/errors.js';
import { nowSeconds, startRelayFixture, until, type RelayFixture } from './relay-fixture.js';

let fx: RelayFixture;
const listeners: HybridConnectionListener[] = [];

beforeAll(async () => {
  fx = await startRelayFixture();
});
afterEach(async () => {
  await Promise.all(listeners.splice(0).map((l) => l.close()));
  await until(() => fx.relay.listenerCount(fx.host, fx.entry.hybridConnectionName) === 0, 5000, 'listeners gone');
});
afterAll(async () => {
  await fx.relay.close();
});

function listener(overrides: Partial<HybridConnectionListenerOptions> = {}): HybridConnectionListener {
  const l = new HybridConnectionListener({
    relayHost: fx.host,
    hybridConnectionName: fx.entry.hybridConnectionName,
    token: () => fx.listenToken(),
    cloud: fx.cloud,
    backoffMs: [0, 50, 100],
    ...overrides,
  });
  listeners.push(l);
  return l;
}

const once = <T extends unknown[]>(l: HybridConnectionListener, event: string) =>
  new Promise<T>((resolve) => l.once(event, (...args: unknown[]) => resolve(args as T)));

/** Every accepted stream echoes what it reads. */
function echo(l: HybridConnectionListener, infos: AcceptInfo[] = []): AcceptInfo[] {
  l.on('connection', (stream: Duplex, info: AcceptInfo) => {
    infos.push(info);
    stream.on('error', () => undefined);
    stream.pipe(stream);
  });
  return infos;
}

async function roundTrip(text: string): Promise<string> {
  const conn = await connectToRelay({ relayHost: fx.host, hybridConnectionName: fx.entry.hybridConnectionName, token: fx.sendToken(), cloud: fx.cloud });
  try {
    const reply = new Promise<string>((resolve) => conn.stream.once('data', (d: Buffer) => resolve(d.toString())));
    conn.stream.write(text);
    return await reply;
  } finally {
    conn.close();
  }
}

describe('HybridConnectionListener', () => {
  it('goes online and hands each accepted sender over as a working stream', async () => {
    const l = listener();
    const online = once(l, 'online');
    l.start();
    await online;
    expect(l.online).toBe(true);
    expect(fx.relay.listenerCount(fx.host, fx.entry.hybridConnectionName)).toBe(1);
    const infos = echo(l);
    expect(await roundTrip('through the agent')).toBe('through the agent');
    expect(infos).toHaveLength(1);
    expect(infos[0]!.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(infos[0]!.remoteEndpoint.address).toMatch(/127\.0\.0\.1/);
  });

  it('rejects a sender when accept() says so; the sender gets that status', async () => {
    const l = listener({ accept: () => ({ status: 503, description: 'Agent draining' }) });
    const online = once(l, 'online');
    l.start();
    await online;
    const err = await connectToRelay({ relayHost: fx.host, hybridConnectionName: fx.entry.hybridConnectionName, token: fx.sendToken(), cloud: fx.cloud }).then(
      () => undefined,
      (e: unknown) => e as RelayError,
    );
    expect(err).toBeInstanceOf(RelayError);
    expect(err!.httpStatus).toBe(503);
    expect(err!.message).toContain('Agent draining');
  });

  it('goes offline on a network cut, reconnects, and serves again', async () => {
    const l = listener();
    echo(l);
    const online = once(l, 'online');
    l.start();
    await online;
    const offline = once<[Error | undefined]>(l, 'offline');
    const back = new Promise<void>((resolve) => l.once('offline', () => l.once('online', () => resolve())));
    fx.relay.faults.dropAllConnections();
    const [err] = await offline;
    expect(err).toBeInstanceOf(RelayError);
    expect((err as RelayError).closeCode).toBe(1006);
    expect(l.online).toBe(false);
    await back;
    expect(l.online).toBe(true);
    expect(await roundTrip('after the cut')).toBe('after the cut');
  });

  it('comes back after the relay closes it for an expired token (1008), with a fresh token', async () => {
    // Its own relay: revoking every token seen must not leak into the other tests.
    const own = await startRelayFixture();
    let serial = 0;
    const l = new HybridConnectionListener({
      relayHost: own.host,
      hybridConnectionName: own.entry.hybridConnectionName,
      // A later se on every call, so the reconnect's token is not one the fault revoked.
      token: () => own.listenToken(own.entry, nowSeconds() + 3600 + ++serial),
      cloud: own.cloud,
      backoffMs: [0, 50],
    });
    try {
      const online = once(l, 'online');
      l.start();
      await online;
      const offline = once<[Error | undefined]>(l, 'offline');
      const back = new Promise<void>((resolve) => l.once('offline', () => l.once('online', () => resolve())));
      own.relay.faults.expireTokensNow();
      const [err] = await offline;
      expect((err as RelayError).closeCode).toBe(1008);
      await back;
      expect(l.online).toBe(true);
      expect(serial).toBeGreaterThanOrEqual(2);
    } finally {
      await l.close();
      await own.relay.close();
    }
  });

  it('renews its token over the control channel before it expires', async () => {
    const issued: number[] = [];
    const l = listener({
      token: () => {
        // The first token lives 2 to 3 s (expiries are whole seconds: at least 2 s to open the
        // channel on a loaded machine); renewals live an hour.
        const se = issued.length === 0 ? nowSeconds() + 3 : nowSeconds() + 3600;
        issued.push(se);
        return fx.listenToken(fx.entry, se);
      },
    });
    let offline = 0;
    l.on('offline', () => offline++);
    const online = once(l, 'online');
    l.start();
    await online;
    await until(() => issued.length >= 2, 5000, 'a renewal');
    const firstExpiry = issued[0]! * 1000;
    await until(() => Date.now() > firstExpiry + 300, 5000, 'the first token to lapse');
    expect(offline).toBe(0);
    expect(l.online).toBe(true);
    expect(fx.relay.listenerCount(fx.host, fx.entry.hybridConnectionName)).toBe(1);
  });

  it('treats 404 (no such hybrid connection) as final', async () => {
    const l = listener({ hybridConnectionName: 'no/such/entity' });
    const failed = once<[Error]>(l, 'error');
    let onlineEvents = 0;
    l.on('online', () => onlineEvents++);
    l.start();
    const [err] = await failed;
    expect((err as RelayError).code).toBe('ARCPROXY_RELAY_NOT_FOUND');
    expect((err as RelayError).httpStatus).toBe(404);
    expect(onlineEvents).toBe(0);
    expect(l.online).toBe(false);
  });

  it('detects a dead control channel by a missed pong', async () => {
    // A relay stand-in that accepts the control channel but never answers pings.
    const mute = new WebSocketServer({ server: https.createServer({ cert: fx.tlsCert, key: fx.tlsKey }), autoPong: false, perMessageDeflate: false });
    const server = (mute.options.server as https.Server).listen(0, '127.0.0.1');
    await new Promise<void>((resolve) => server.once('listening', () => resolve()));
    const port = (server.address() as AddressInfo).port;
    const l = listener({ cloud: { ca: fx.ca, hostMap: { [fx.host]: `127.0.0.1:${port}` } }, pingIntervalMs: 50, pongTimeoutMs: 100, backoffMs: [60_000] });
    try {
      const online = once(l, 'online');
      l.start();
      await online;
      const started = Date.now();
      const [err] = await once<[Error | undefined]>(l, 'offline');
      expect(err).toBeInstanceOf(RelayError);
      expect((err as RelayError).closeCode).toBe(1006);
      expect(Date.now() - started).toBeGreaterThanOrEqual(100);
    } finally {
      await l.close();
      for (const ws of mute.clients) ws.terminate();
      mute.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('close() takes it offline and stops reconnecting', async () => {
    const l = listener();
    const online = once(l, 'online');
    l.start();
    await online;
    const offline = once(l, 'offline');
    await l.close();
    await offline;
    expect(l.online).toBe(false);
    await until(() => fx.relay.listenerCount(fx.host, fx.entry.hybridConnectionName) === 0, 5000, 'relay to forget the listener');
  });
});
