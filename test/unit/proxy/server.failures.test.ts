import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { request as httpsRequest } from 'node:https';
import type { IncomingMessage } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { ExitCode } from '../../../src/errors/index.js';
import { PortInUseError } from '../../../src/proxy/server.js';
import type { RequestLogEntry } from '../../../src/proxy/log.js';
import type { StreamDialer } from '../../../src/tunnel/dialer.js';
import { PREFIX, clientOptions, failingDialer, get, netDialer, sharedPki, startProxy, startUpstream } from './helpers.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});
function own<T extends { close(): Promise<void> }>(x: T): T {
  cleanups.push(() => x.close());
  return x;
}

function upgradeRequest(port: number, pki: Awaited<ReturnType<typeof sharedPki>>): Promise<{ res: IncomingMessage; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      clientOptions(pki, port, {
        path: `${PREFIX}/api/v1/namespaces/d/pods/p/exec`,
        headers: { Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==' },
      }),
    );
    req.on('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ res, body }));
    });
    req.on('upgrade', () => reject(new Error('unexpected upgrade')));
    req.on('error', reject);
    req.end();
  });
}

describe('proxy server: tunnel failures', () => {
  it('answers 503 with the agent message when no listener is online (ordinary request)', async () => {
    const pki = await sharedPki();
    const entries: RequestLogEntry[] = [];
    const proxy = own(await startProxy(pki, failingDialer('ARCPROXY_RELAY_NO_LISTENER', 'Endpoint does not exist'), { onRequest: (e) => entries.push(e) }));
    const res = await get(pki, proxy.port, `${PREFIX}/api/v1/pods?watch=true`);
    expect(res.status).toBe(503);
    expect(res.headers['content-type']).toBe('application/json');
    const status = JSON.parse(res.body);
    expect(status).toMatchObject({ kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'ServiceUnavailable', code: 503 });
    expect(status.message).toContain('no listener online');
    expect(status.message).toContain('kubectl -n azure-arc get pods');
    expect(entries).toMatchObject([{ status: 503, path: '/api/v1/pods?watch=true' }]);
  });

  it('answers 503 with the agent message when no listener is online (upgrade)', async () => {
    const pki = await sharedPki();
    const proxy = own(await startProxy(pki, failingDialer('ARCPROXY_RELAY_NO_LISTENER', 'Endpoint does not exist')));
    const { res, body } = await upgradeRequest(proxy.port, pki);
    expect(res.statusCode).toBe(503);
    expect(res.statusMessage).toBe('Service Unavailable');
    const status = JSON.parse(body);
    expect(status).toMatchObject({ kind: 'Status', reason: 'ServiceUnavailable', code: 503 });
    expect(status.message).toContain('no listener online');
  });

  it('names the code of other relay failures', async () => {
    const pki = await sharedPki();
    const proxy = own(await startProxy(pki, failingDialer('ARCPROXY_RELAY_TOKEN_EXPIRED', 'The relay token expired.')));
    const res = await get(pki, proxy.port, `${PREFIX}/api`);
    expect(res.status).toBe(503);
    expect(JSON.parse(res.body).message).toBe('arcproxy: the tunnel to the cluster failed (ARCPROXY_RELAY_TOKEN_EXPIRED): The relay token expired.');
  });

  it('answers 503 when the stream dies before any response byte (ordinary request and upgrade)', async () => {
    const pki = await sharedPki();
    const upstream = own(await startUpstream((req) => req.socket.destroy()));
    upstream.server.on('upgrade', (_req: IncomingMessage, socket: { destroy(): void }) => socket.destroy());
    const proxy = own(await startProxy(pki, netDialer(upstream.port)));
    const res = await get(pki, proxy.port, `${PREFIX}/api/v1/pods`);
    expect(res.status).toBe(503);
    expect(JSON.parse(res.body)).toMatchObject({ kind: 'Status', reason: 'ServiceUnavailable', code: 503 });
    expect(JSON.parse(res.body).message).toMatch(/^arcproxy: the tunnel to the cluster failed \(/);

    const up = await upgradeRequest(proxy.port, pki);
    expect(up.res.statusCode).toBe(503);
    expect(JSON.parse(up.body).message).toContain('ARCPROXY_TUNNEL_CLOSED');
  });

  it('answers 503 when the Entra token cannot be had, without dialling', async () => {
    const pki = await sharedPki();
    const dialer = netDialer(1);
    const proxy = own(
      await startProxy(pki, dialer, {
        auth: { kind: 'entra', getToken: () => Promise.reject(Object.assign(new Error('AADSTS700082: expired'), { code: 'ARCPROXY_AUTH_FAILED' })) },
      }),
    );
    const res = await get(pki, proxy.port, `${PREFIX}/api`);
    expect(res.status).toBe(503);
    expect(JSON.parse(res.body).message).toContain('could not get a Microsoft Entra token');
    expect(dialer.dials).toBe(0);
  });

  it('a dial that never settles is aborted by close()', async () => {
    const pki = await sharedPki();
    let sawAbort = false;
    const dialer: StreamDialer = {
      dial: (signal) =>
        new Promise((_resolve, reject) => {
          signal?.addEventListener('abort', () => {
            sawAbort = true;
            reject(Object.assign(new Error('aborted'), { code: 'ABORT_ERR' }));
          });
        }),
    };
    const proxy = await startProxy(pki, dialer);
    const pending = get(pki, proxy.port, `${PREFIX}/api`).then(
      (r) => r.status,
      () => 'client error',
    );
    // Wait until the proxy has the request (not for time): activeRequests counts it.
    while (proxy.activeRequests === 0) await new Promise((r) => setImmediate(r));
    await proxy.close(0);
    expect(sawAbort).toBe(true);
    expect(await pending).toBe('client error');
  });
});

describe('startProxyServer: listening', () => {
  it('fails with PortInUseError and the exact message on a busy port', async () => {
    const pki = await sharedPki();
    const blocker = createNetServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise<void>((r) => blocker.close(() => r())));
    const port = (blocker.address() as AddressInfo).port;
    const err = await startProxy(pki, netDialer(1), { port }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(PortInUseError);
    expect((err as PortInUseError).code).toBe('ARCPROXY_PORT_IN_USE');
    expect((err as PortInUseError).exitCode).toBe(ExitCode.portInUse);
    expect((err as PortInUseError).message).toBe(`Port ${port} is already in use. Please select a different port with --port option.`);
  });
});
