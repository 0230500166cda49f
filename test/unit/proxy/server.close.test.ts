import { request as httpsRequest } from 'node:https';
import type { IncomingMessage } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { PREFIX, clientOptions, gate, netDialer, once, sharedPki, startProxy, startUpstream, type Upstream } from './helpers.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

/** An agent stand-in that sends headers at once and finishes the body when `finish` opens. */
async function slowUpstream(finish: Promise<void>): Promise<{ upstream: Upstream; requestClosed: Promise<void> }> {
  const closed = gate();
  const upstream = await startUpstream((req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/plain' });
    res.write('start;');
    req.socket.once('close', () => closed.open());
    void finish.then(() => res.end('end'));
  });
  cleanups.push(() => upstream.close());
  return { upstream, requestClosed: closed.promise };
}

/** Starts a request and resolves with its response as soon as the headers are in. */
function startRequest(pki: Awaited<ReturnType<typeof sharedPki>>, port: number, path: string): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(clientOptions(pki, port, { path }), resolve);
    req.on('error', reject);
    req.end();
  });
}

function readAll(res: IncomingMessage): Promise<{ body: string; complete: boolean }> {
  return new Promise((resolve) => {
    let body = '';
    res.setEncoding('utf8');
    res.on('data', (c: string) => (body += c));
    res.on('end', () => resolve({ body, complete: res.complete }));
    res.on('error', () => resolve({ body, complete: false }));
    res.on('close', () => resolve({ body, complete: res.complete }));
  });
}

describe('ProxyServer.close', () => {
  it('waits for an in-flight request to finish within the grace period, then resolves', async () => {
    const pki = await sharedPki();
    const finish = gate();
    const { upstream } = await slowUpstream(finish.promise);
    const proxy = await startProxy(pki, netDialer(upstream.port));
    const res = await startRequest(pki, proxy.port, `${PREFIX}/logs`);
    const reading = readAll(res);
    expect(proxy.activeRequests).toBe(1);

    let closed = false;
    const closing = proxy.close(10_000).then(() => (closed = true));
    // Let every pending callback run: close() must still be waiting for the request.
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
    expect(closed).toBe(false);

    finish.open();
    await closing;
    expect(await reading).toEqual({ body: 'start;end', complete: true });
    expect(proxy.activeRequests).toBe(0);
  });

  it('aborts a request that outlives the grace period and closes its stream', async () => {
    const pki = await sharedPki();
    const never = new Promise<void>(() => undefined);
    const { upstream, requestClosed } = await slowUpstream(never);
    const proxy = await startProxy(pki, netDialer(upstream.port));
    const res = await startRequest(pki, proxy.port, `${PREFIX}/watch`);
    const reading = readAll(res);
    await proxy.close(50);
    const result = await reading;
    expect(result.complete).toBe(false);
    expect(result.body).toBe('start;');
    await requestClosed;
    expect(proxy.activeRequests).toBe(0);
  });

  it('closes idle pooled streams and stops listening', async () => {
    const pki = await sharedPki();
    const upstream = await startUpstream((_req, res) => res.end('ok'));
    cleanups.push(() => upstream.close());
    const proxy = await startProxy(pki, netDialer(upstream.port));
    const res = await startRequest(pki, proxy.port, `${PREFIX}/a`);
    await readAll(res);
    const pooledClosed = once(upstream.sockets[0]!, 'close');
    await proxy.close(1000);
    await pooledClosed;
    const refused = await startRequest(pki, proxy.port, `${PREFIX}/a`).then(
      () => 'answered',
      (e: NodeJS.ErrnoException) => e.code,
    );
    expect(refused).toBe('ECONNREFUSED');
  });
});
