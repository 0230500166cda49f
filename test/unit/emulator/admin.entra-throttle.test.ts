/**
 * The admin endpoint's Entra throttling hook, as a test in another process would pull it: the
 * count and Retry-After reach the fault hook (60 s, Entra's, when none is given); bad ones are refused.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestAdmin, type TestAdmin } from './admin-fixture.js';

describe('admin endpoint: Entra throttling', () => {
  const planned: [number, number | undefined][] = [];
  let admin: TestAdmin;

  beforeAll(async () => {
    admin = await startTestAdmin({ entraThrottleNext: (count, retryAfterSeconds) => void planned.push([count, retryAfterSeconds]) });
  });
  afterAll(() => admin?.admin.close());

  it('plans the next throttled token requests, and refuses a missing or negative count', async () => {
    expect((await admin.call('POST', '/faults/entra-throttle', { count: 2, retryAfterSeconds: 5 })).status).toBe(200);
    expect((await admin.call('POST', '/faults/entra-throttle', { count: 1 })).status).toBe(200);
    expect((await admin.call('POST', '/faults/entra-throttle', {})).status).toBe(400);
    expect((await admin.call('POST', '/faults/entra-throttle', { count: -1 })).status).toBe(400);
    expect((await admin.call('POST', '/faults/entra-throttle', { count: 1, retryAfterSeconds: -5 })).status).toBe(400);
    expect(planned).toEqual([
      [2, 5],
      [1, undefined],
    ]);
  });
});
