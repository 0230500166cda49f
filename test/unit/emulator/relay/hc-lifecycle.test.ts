/**
 * Hybrid connections as Azure hands them out: one per credential, listened on only after the
 * guest notification delay, deleted at expiry (listeners and relayed connections closed with
 * 1001, later connects 404), and a SAS for one never opens another.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Duplex } from 'node:stream';
import { connectToRelay } from '../../../../src/relay/sender.js';
import { RelayError } from '../../../../src/relay/errors.js';
import { ClusterListeners } from '../../../../src/emulator/guest-notifications.js';
import type { HybridConnectionEntry } from '../../../../src/emulator/relay-directory.js';
import { echoAll, handshake, nextClose, rawClient, rawListener, startRelayFixture, until, type RelayFixture } from './relay-fixture.js';

const CLUSTER = '/subscriptions/s/resourceGroups/rg/providers/Microsoft.Kubernetes/connectedClusters/lifecycle';

let fx: RelayFixture;
const cleanups: (() => Promise<void> | void)[] = [];

beforeAll(async () => {
  fx = await startRelayFixture();
});
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
afterAll(async () => {
  fx.directory.close();
  await fx.relay.close();
});

function connect(entry: HybridConnectionEntry, token = fx.sendToken(entry)) {
  return connectToRelay({ relayHost: fx.directory.host(entry), hybridConnectionName: entry.hybridConnectionName, token, cloud: fx.cloud, keepAlive: false });
}

async function refusal(p: Promise<unknown>): Promise<RelayError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(RelayError);
  return err as RelayError;
}

describe('a hybrid connection issued with a lifetime', () => {
  it('is deleted at its expiration time: listener and relayed connections close with 1001, then connect and listen get 404', async () => {
    // Deleted 2 to 3 s from now (the issue second plus 3): time enough to connect both sides first.
    const entry = fx.directory.issue(CLUSTER, 'westeurope', { lifetimeSeconds: 3 });
    expect(entry.relayName).toBe('azgnrelay-westeurope-l1');
    expect(entry.expiresAtMs! % 1000).toBe(0);
    const control = await rawListener(fx, fx.listenToken(entry), entry);
    cleanups.push(() => control.terminate());
    echoAll(fx, control);
    const connection = await connect(entry);
    const streamClosed = new Promise<unknown>((resolve) => connection.stream.once('error', resolve));
    const [controlClose, senderClose] = await Promise.all([nextClose(control), nextClose(connection.ws)]);
    expect(Date.now()).toBeGreaterThanOrEqual(entry.expiresAtMs! - 50);
    expect(controlClose.code).toBe(1001);
    expect(senderClose.code).toBe(1001);
    // The sender's stream ends in an error carrying 1001, never a clean end.
    expect(((await streamClosed) as RelayError).closeCode).toBe(1001);
    expect(fx.directory.find(fx.directory.host(entry), entry.hybridConnectionName)).toBeUndefined();

    const err = await refusal(connect(entry));
    expect(err.httpStatus).toBe(404);
    expect(err.code).toBe('ARCPROXY_RELAY_NO_LISTENER');
    const listen = rawClient(fx, fx.url(entry, 'listen', '&sb-hc-id=late'), { ServiceBusAuthorization: fx.listenToken(entry) });
    cleanups.push(() => listen.terminate());
    expect(await handshake(listen)).toMatchObject({ opened: false, status: 404 });
  });

  it('refuses a SAS of one credential on the next credential of the same cluster', async () => {
    const first = fx.directory.issue(CLUSTER, 'eastus', { lifetimeSeconds: 60 });
    const second = fx.directory.issue(CLUSTER, 'eastus', { lifetimeSeconds: 60 });
    cleanups.push(() => {
      fx.directory.delete(first);
      fx.directory.delete(second);
    });
    expect(second.hybridConnectionName).not.toBe(first.hybridConnectionName);
    expect(second.hybridConnectionName.split('/').slice(0, 3)).toEqual(first.hybridConnectionName.split('/').slice(0, 3));
    const control = await rawListener(fx, fx.listenToken(second), second);
    cleanups.push(() => control.terminate());
    echoAll(fx, control);
    const err = await refusal(connect(second, fx.sendToken(first)));
    expect(err.httpStatus).toBe(403);
    const ok = await connect(second);
    ok.stream.destroy();
  });
});

describe('guest notifications (ClusterListeners)', () => {
  it('listens on a new hybrid connection only after the notification delay, and drops it when it is deleted', async () => {
    const delayMs = 400;
    const listeners = new ClusterListeners({ directory: fx.directory, clusterId: CLUSTER, cloud: fx.cloud, delayMs: () => delayMs });
    const streams: Duplex[] = [];
    listeners.on('connection', (s: Duplex) => {
      streams.push(s);
      s.on('data', (d: Buffer) => s.write(d));
      s.on('error', () => undefined); // 1001 when the hybrid connection is deleted
    });
    listeners.start();
    cleanups.push(() => listeners.close());

    const issuedAt = Date.now();
    const entry = fx.directory.issue(CLUSTER.toUpperCase(), 'eastus', { lifetimeSeconds: 60 });
    // Right after the ARM call: no listener yet, as a sender sees it.
    const early = await refusal(connect(entry));
    expect(early.code).toBe('ARCPROXY_RELAY_NO_LISTENER');
    await until(() => listeners.onlineCount === 1, 5000, 'the listener');
    expect(Date.now() - issuedAt).toBeGreaterThanOrEqual(delayMs);
    const { stream } = await connect(entry);
    stream.write('ping');
    const echoed = await new Promise<string>((resolve) => stream.once('data', (d: Buffer) => resolve(d.toString())));
    expect(echoed).toBe('ping');
    stream.destroy();

    fx.directory.delete(entry);
    await until(() => listeners.onlineCount === 0, 5000, 'the listener gone');
    expect(fx.relay.listenerCount(fx.directory.host(entry), entry.hybridConnectionName)).toBe(0);
  });
});
