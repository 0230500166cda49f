import { afterEach, describe, expect, it } from 'vitest';
import type { Duplex } from 'node:stream';
import { failingDialer, get, netDialer, plainDuplex, PREFIX, sharedPki, startProxy, startUpstream, type Upstream } from './helpers.js';
import type { ProxyServer } from '../../../src/proxy/server.js';
import type { StreamDialer } from '../../../src/tunnel/dialer.js';

describe('ProxyServer.prewarm', () => {
  let upstream: Upstream | undefined;
  let proxy: ProxyServer | undefined;
  afterEach(async () => {
    await proxy?.close(0);
    await upstream?.close();
    proxy = upstream = undefined;
  });

  it('opens one stream before the first request, which then rides on it without a dial', async () => {
    const pki = await sharedPki();
    upstream = await startUpstream((req, res) => res.end(`hello ${req.url}`));
    const dialer = netDialer(upstream.port, plainDuplex);
    proxy = await startProxy(pki, dialer);

    expect(await proxy.prewarm()).toBe(true);
    expect(dialer.dials).toBe(1);
    expect(upstream.sockets).toHaveLength(1);
    // Prewarming again keeps the one that is open.
    expect(await proxy.prewarm()).toBe(true);
    expect(dialer.dials).toBe(1);

    const res = await get(pki, proxy.port, `${PREFIX}/api/v1/pods`);
    expect(res.status).toBe(200);
    expect(res.body).toBe('hello /api/v1/pods');
    expect(dialer.dials).toBe(1);
    // Back in the pool afterwards, like any stream.
    const again = await get(pki, proxy.port, `${PREFIX}/version`);
    expect(again.body).toBe('hello /version');
    expect(dialer.dials).toBe(1);
  });

  it('resolves false when the dial fails, and the next request dials again', async () => {
    const pki = await sharedPki();
    const dialer = failingDialer('ARCPROXY_RELAY_NO_LISTENER', 'no listener');
    proxy = await startProxy(pki, dialer);
    expect(await proxy.prewarm()).toBe(false);
    const res = await get(pki, proxy.port, `${PREFIX}/api`);
    expect(res.status).toBe(503);
    expect(dialer.dials).toBeGreaterThanOrEqual(2);
  });

  it('does not hand out a prewarmed stream that closed while it waited', async () => {
    const pki = await sharedPki();
    upstream = await startUpstream((_req, res) => res.end('ok'));
    const inner = netDialer(upstream.port, plainDuplex);
    const opened: Duplex[] = [];
    const dialer: StreamDialer = {
      dial: async (signal) => {
        const s = await inner.dial(signal);
        opened.push(s);
        return s;
      },
    };
    proxy = await startProxy(pki, dialer);
    expect(await proxy.prewarm()).toBe(true);
    // The far end drops it (a relay blip) before any request comes.
    const closed = new Promise((r) => opened[0]!.once('close', r));
    upstream.sockets[0]!.destroy();
    await closed;

    const res = await get(pki, proxy.port, `${PREFIX}/api`);
    expect(res.status).toBe(200);
    expect(inner.dials).toBe(2);
  });

  it('closes the prewarmed stream when the proxy closes', async () => {
    const pki = await sharedPki();
    upstream = await startUpstream((_req, res) => res.end('ok'));
    const inner = netDialer(upstream.port, plainDuplex);
    const opened: Duplex[] = [];
    proxy = await startProxy(pki, {
      dial: async (signal) => {
        const s = await inner.dial(signal);
        opened.push(s);
        return s;
      },
    });
    expect(await proxy.prewarm()).toBe(true);
    await proxy.close(0);
    expect(opened[0]!.destroyed).toBe(true);
    expect(await proxy.prewarm()).toBe(false);
    proxy = undefined;
  });
});
