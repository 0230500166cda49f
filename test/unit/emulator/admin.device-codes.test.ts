/**
 * The admin endpoint's device-code hooks, as another process (a test, a script playing the user
 * at the browser) drives them: switching to manual approval and approving the code arcproxy printed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAdminServer, type AdminServer } from '../../../src/emulator/admin.js';
import type { EmulatorFaults } from '../../../src/emulator/faults.js';
import { httpsRequest, makeTestTls } from './entra/tls-fixture.js';

describe('admin endpoint: device codes', () => {
  const calls: unknown[][] = [];
  const faults = {
    setDeviceCodeApproval: (...args: unknown[]) => void calls.push(['approval', ...args]),
    approveDeviceCode: (userCode: string) => {
      calls.push(['approve', userCode]);
      return userCode === 'GOODCODE2';
    },
  } as unknown as EmulatorFaults;
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
      relayCounters: () => ({ tcpConnections: 0, relayedConnections: 0, controlChannels: 0 }),
    });
  });
  afterAll(() => admin?.close());

  const post = (fault: string, body: unknown) =>
    httpsRequest(`${admin.url}/faults/${fault}`, ca, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin.key}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });

  it('sets manual or automatic approval with an interval, and refuses anything else', async () => {
    expect((await post('device-codes', { approval: 'manual', intervalSeconds: 1 })).status).toBe(200);
    expect((await post('device-codes', { approval: 'automatic' })).status).toBe(200);
    expect((await post('device-codes', { approval: 'sometimes' })).status).toBe(400);
    expect(calls.filter((c) => c[0] === 'approval')).toEqual([
      ['approval', 'manual', 1],
      ['approval', 'automatic', undefined],
    ]);
  });

  it('approves a pending code, and answers 400 for a code no sign-in has', async () => {
    expect((await post('approve-device-code', { userCode: 'GOODCODE2' })).status).toBe(200);
    const unknown = await post('approve-device-code', { userCode: 'NOSUCHONE' });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error).toMatch(/no pending device-code sign-in/);
    expect((await post('approve-device-code', {})).status).toBe(400);
  });
});
