/**
 * The admin endpoint's relay-latency hook and relay counters, as the benchmark drives them from
 * another process: the latency reaches the fault hook, a bad one is refused, the counters come back.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestAdmin, type TestAdmin } from './admin-fixture.js';

describe('admin endpoint: relay latency and counters', () => {
  const latencies: number[] = [];
  const faults = {
    setRelayLatency: (ms: number) => {
      if (ms > 10_000) throw new RangeError('The relay latency must be a number of milliseconds from 0 to 10000.');
      latencies.push(ms);
    },
  };
  const counters = { tcpConnections: 9, relayedConnections: 4, controlChannels: 2 };
  let admin: TestAdmin;

  beforeAll(async () => {
    admin = await startTestAdmin(faults, () => counters);
  });
  afterAll(() => admin?.admin.close());

  const call = (method: string, path: string, body?: unknown) => admin.call(method, path, body);

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
