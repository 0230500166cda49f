/**
 * Microsoft's tracing headers: every request arcproxy carries has the session's
 * x-ms-correlation-request-id and an x-ms-client-request-id of its own, which the --debug line
 * and a 503's message name, so a user can find the request in the agent's logs.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { ProxyServer, RequestLogEntry } from '../../../src/proxy/index.js';
import { failingDialer, get, netDialer, PREFIX, sharedPki, startProxy, startUpstream, type Upstream } from './helpers.js';

const SESSION = '6f1c2e7a-1111-4222-8333-944455556666';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!();
});

function own<T extends ProxyServer | Upstream>(x: T): T {
  cleanup.push(() => x.close());
  return x;
}

describe('tracing headers', () => {
  it('sends the session id and a fresh request id upstream, replacing any the client sent', async () => {
    const pki = await sharedPki();
    const upstream = own(await startUpstream((_req, res) => res.end('{}')));
    const logged: RequestLogEntry[] = [];
    const proxy = own(await startProxy(pki, netDialer(upstream.port), { correlationId: SESSION, onRequest: (e) => logged.push(e) }));
    await get(pki, proxy.port, `${PREFIX}/api`, { headers: { 'x-ms-client-request-id': 'spoofed', 'x-ms-correlation-request-id': 'spoofed' } });
    await get(pki, proxy.port, `${PREFIX}/api`);
    const [a, b] = upstream.seen;
    expect(a!.headers['x-ms-correlation-request-id']).toBe(SESSION);
    expect(b!.headers['x-ms-correlation-request-id']).toBe(SESSION);
    expect(a!.headers['x-ms-client-request-id']).toMatch(UUID);
    expect(b!.headers['x-ms-client-request-id']).toMatch(UUID);
    expect(a!.headers['x-ms-client-request-id']).not.toBe(b!.headers['x-ms-client-request-id']);
    await expect.poll(() => logged.length).toBe(2);
    expect(logged.map((e) => e.requestId).sort()).toEqual([a!.headers['x-ms-client-request-id'], b!.headers['x-ms-client-request-id']].sort());
  });

  it('names the request and the session in a 503', async () => {
    const pki = await sharedPki();
    const proxy = own(await startProxy(pki, failingDialer('ARCPROXY_RELAY_NO_LISTENER', 'Endpoint does not exist'), { correlationId: SESSION }));
    const res = await get(pki, proxy.port, `${PREFIX}/api`);
    expect(res.status).toBe(503);
    expect(JSON.parse(res.body).message).toMatch(new RegExp(`x-ms-client-request-id [0-9a-f-]{36}, x-ms-correlation-request-id ${SESSION}\\)$`));
  });

  it('adds nothing when the session does not trace', async () => {
    const pki = await sharedPki();
    const upstream = own(await startUpstream((_req, res) => res.end('{}')));
    const proxy = own(await startProxy(pki, netDialer(upstream.port)));
    await get(pki, proxy.port, `${PREFIX}/api`);
    expect(upstream.seen[0]!.headers['x-ms-correlation-request-id']).toBeUndefined();
  });
});
