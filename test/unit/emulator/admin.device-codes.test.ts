/**
 * The admin endpoint's device-code hooks, as another process (a test, a script playing the user
 * at the browser) drives them: switching to manual approval and approving the code arcproxy printed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestAdmin, type TestAdmin } from './admin-fixture.js';

describe('admin endpoint: device codes', () => {
  const calls: unknown[][] = [];
  const faults = {
    setDeviceCodeApproval: (...args: unknown[]) => void calls.push(['approval', ...args]),
    approveDeviceCode: (userCode: string) => {
      calls.push(['approve', userCode]);
      return userCode === 'GOODCODE2';
    },
  };
  let admin: TestAdmin;

  beforeAll(async () => {
    admin = await startTestAdmin(faults);
  });
  afterAll(() => admin?.admin.close());

  const post = (fault: string, body: unknown) => admin.call('POST', `/faults/${fault}`, body);

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
