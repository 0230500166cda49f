import { afterEach, describe, expect, it } from 'vitest';
import type { SessionPki } from '../../../src/pki/session-pki.js';
import { PREFIX, get, h2connect, h2request, netDialer, sharedPki, startProxy, startUpstream } from './helpers.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

/** A PKI promise the test settles when it wants. */
function later(): { pki: Promise<SessionPki>; give: (p: SessionPki) => void; fail: (e: Error) => void } {
  let give!: (p: SessionPki) => void;
  let fail!: (e: Error) => void;
  const pki = new Promise<SessionPki>((resolve, reject) => {
    give = resolve;
    fail = reject;
  });
  return { pki, give, fail };
}

describe('a listener opened before its certificates exist', () => {
  it('holds the port at once, refuses handshakes until the certificates are installed, then serves', async () => {
    const pki = await sharedPki();
    const upstream = await startUpstream((_req, res) => res.end('from the agent'));
    cleanups.push(() => upstream.close());
    const pending = later();
    const proxy = await startProxy(pki, netDialer(upstream.port), { pki: pending.pki });
    cleanups.push(() => proxy.close(0));
    expect(proxy.port).toBeGreaterThan(0);

    await expect(get(pki, proxy.port, `${PREFIX}/version`)).rejects.toThrow();

    pending.give(pki);
    await proxy.secured;
    const res = await get(pki, proxy.port, `${PREFIX}/version`);
    expect(res.status).toBe(200);
    expect(res.body).toBe('from the agent');
    // The installed context keeps HTTP/2 on offer.
    const session = await h2connect(pki, proxy.port);
    try {
      expect(session.alpnProtocol).toBe('h2');
      expect((await h2request(session, `${PREFIX}/version`)).body).toBe('from the agent');
    } finally {
      session.destroy();
    }
  });

  it('rejects `secured` when the certificates could not be made', async () => {
    const pki = await sharedPki();
    const pending = later();
    const proxy = await startProxy(pki, netDialer(1), { pki: pending.pki });
    cleanups.push(() => proxy.close(0));
    pending.fail(new Error('no certificates'));
    await expect(proxy.secured).rejects.toThrow('no certificates');
  });

  it('is secured at once when the certificates are given', async () => {
    const pki = await sharedPki();
    const proxy = await startProxy(pki, netDialer(1));
    cleanups.push(() => proxy.close(0));
    await proxy.secured;
    const res = await get(pki, proxy.port, '/elsewhere');
    expect(res.status).toBe(404);
  });
});
