/**
 * The admin endpoint's relay-latency hook and relay counters, as the benchmark drives them from
 * another process: the latency reaches the fault hook, a bad one is refused, the counters come back.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAdminServer, type AdminServer } from '../../../src/emulator/admin.js';
import type { EmulatorFaults } from '../../../src/emulator/faults.js';
import { httpsRequest, makeTestTls } from './entra/tls-fixture.js';

describe('admin endpoint: relay latency and counters', () => {
  const latencies: number[] = [];
  const faults = {
    setRelayLatency: (ms: number) => {
      if (ms > 10_000) throw new RangeError('The relay latency must be a number of milliseconds from 0 to 10000.');
      latencies.push(ms);
    },
  } as unknown as EmulatorFaults;
  const counters = { tcpConnections: 9, relayedConnections: 4, controlChannels: 2 };
  let admin: AdminServer;
  let ca: string;

  beforeAll(async () => {
    const tls = await makeTestTls();
    ca = tls.ca;
    admin = await startAdminServer({
      tls: tls.server,
      host: '127.0.0.1',
      port: 0,
      faults,
      hybridConnections: () => ({ issued: 0, live: 0, used: 0 }),
      relayCounters: () => counters,
    });
  });
  afterAll(() => admin?.close());

  const call = (method: string, path: string, body?: unknown) =>
    httpsRequest(`${admin.url}${path}`, ca, {
      method,
      headers: { authorization: `Bearer ${admin.key}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });

  it('sets the one-way latency, and refuses a negative, missing or out-of-range one', async () => {
    expect((await call('POST', '/faults/relay-latency', { ms: 20 })).status).toBe(200);
    expect((await call('POST', '/faults/relay-latency', { ms: 0 })).status).toBe(200);
    expect((await call('POST', '/faults/relay-latency', { ms: -1 })).status).toBe(400);
    expect((await call('POST', '/faults/relay-latency', {})).status).toBe(400);
    const tooLong = await call('POST', '/faults/relay-latency', { ms: 20_000 });
    expect(tooLong.status).toBe(400);
    expect(tooLong.body.error).toMatch(/from 0 to 10000/);
    expect(latencies).toEqual([20, 0]);
  });

  it('answers the relay counters', async () => {
    const res = await call('GET', '/relay-counters');
    expect(res.status).toBe(200);
    expect(res.body).toEqual(counters);
  });
});
