/** The emulator's admin endpoint on loopback with the given fault hooks, and a caller that sends its key. */
import { startAdminServer, type AdminServer } from '../../../src/emulator/admin.js';
import type { EmulatorFaults } from '../../../src/emulator/faults.js';
import type { RelayCounters } from '../../../src/emulator/relay/index.js';
import { httpsRequest, makeTestTls, type JsonResponse } from './entra/tls-fixture.js';

export interface TestAdmin {
  admin: AdminServer;
  /** One authorised request; `body` is sent as JSON when given. */
  call(method: string, path: string, body?: unknown): Promise<JsonResponse>;
}

export async function startTestAdmin(faults: Partial<EmulatorFaults>, relayCounters?: () => RelayCounters): Promise<TestAdmin> {
  const tls = await makeTestTls();
  const admin = await startAdminServer({
    tls: tls.server,
    host: '127.0.0.1',
    port: 0,
    faults: faults as EmulatorFaults,
    hybridConnections: () => ({ issued: 0, live: 0, used: 0 }),
    relayCounters: relayCounters ?? (() => ({ tcpConnections: 0, relayedConnections: 0, controlChannels: 0 })),
  });
  return {
    admin,
    call: (method, path, body) =>
      httpsRequest(`${admin.url}${path}`, tls.ca, {
        method,
        headers: { authorization: `Bearer ${admin.key}`, 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      }),
  };
}
