/**
 * Abuse a local client could try: streams reset as soon as they are opened (each would otherwise
 * leave a relay connection being opened for nobody: a quota problem against Azure Relay), and a
 * request with two Host headers (RFC 9112 §3.2: 400).
 */
import type { Duplex } from 'node:stream';
import { constants as h2 } from 'node:http2';
import { afterEach, describe, expect, it } from 'vitest';
import type { StreamDialer } from '../../../src/tunnel/dialer.js';
import { PREFIX, h2connect, sharedPki, startProxy, rawTlsClient } from './helpers.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

/** A dialer whose dials never finish on their own; it records each dial's signal. */
function hangingDialer(): StreamDialer & { signals: AbortSignal[] } {
  const signals: AbortSignal[] = [];
  return {
    signals,
    dial(signal?: AbortSignal): Promise<Duplex> {
      signals.push(signal!);
      return new Promise((_resolve, reject) => signal?.addEventListener('abort', () => reject(signal.reason as Error), { once: true }));
    },
  };
}

describe('proxy server: abuse', () => {
  it('cancels the relay dial of an HTTP/2 stream the client resets before it is ready', async () => {
    const pki = await sharedPki();
    const dialer = hangingDialer();
    const proxy = await startProxy(pki, dialer);
    cleanups.push(() => proxy.close(0));
    const session = await h2connect(pki, proxy.port);
    cleanups.push(() => session.destroy());
    for (let i = 0; i < 20; i++) {
      const stream = session.request({ ':path': `${PREFIX}/api/v1/pods` });
      stream.on('error', () => undefined);
      // Reset once its relay dial is under way.
      await expect.poll(() => dialer.signals.length).toBe(i + 1);
      stream.close(h2.NGHTTP2_CANCEL);
    }
    await expect.poll(() => dialer.signals.filter((s) => s.aborted).length).toBe(20);
  });

  it('answers 400 to a request with two Host headers, and forwards nothing', async () => {
    const pki = await sharedPki();
    const dialer = hangingDialer();
    const proxy = await startProxy(pki, dialer);
    cleanups.push(() => proxy.close(0));
    const { socket, received } = await rawTlsClient(pki, proxy.port);
    cleanups.push(() => socket.destroy());
    socket.write(`GET ${PREFIX}/api HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n`);
    await expect.poll(received).toMatch(/\r\n\r\n.*\}$/s);
    expect(received().startsWith('HTTP/1.1 400')).toBe(true);
    expect(received()).toContain('more than one Host header');
    expect(dialer.signals).toHaveLength(0);
  });
});
