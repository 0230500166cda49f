/** StreamPool gives relay streams the few net.Socket methods http calls, without a function per stream. */
import { describe, expect, it } from 'vitest';
import { Duplex, PassThrough } from 'node:stream';
import { StreamPool } from '../../../src/proxy/stream-pool.js';

type SocketMethods = Record<'ref' | 'unref' | 'setKeepAlive' | 'setNoDelay' | 'setTimeout', (...a: unknown[]) => unknown>;

function connect(pool: StreamPool): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    pool.createConnection({}, (err, stream) => (err ? reject(err) : resolve(stream)));
  });
}

describe('StreamPool stream adaptation', () => {
  it('adds no-op socket methods that return the stream, shared by every stream', async () => {
    const controller = new AbortController();
    const pool = new StreamPool({ dialer: { dial: async () => new PassThrough() }, maxIdleStreams: 4, idleStreamTimeoutMs: 60_000, signal: controller.signal });
    try {
      const a = (await connect(pool)) as Duplex & SocketMethods;
      const b = (await connect(pool)) as Duplex & SocketMethods;
      expect(a).not.toBe(b);
      for (const method of ['ref', 'unref', 'setKeepAlive', 'setNoDelay', 'setTimeout'] as const) {
        expect(typeof a[method]).toBe('function');
        expect(a[method](1000)).toBe(a);
        expect(b[method](true)).toBe(b);
        // One function for all streams: a long-lived watch holds its stream, and 1,000 of them
        // must not mean 5,000 closures.
        expect(a[method]).toBe(b[method]);
      }
      a.destroy();
      b.destroy();
    } finally {
      controller.abort();
      pool.destroy();
    }
  });

  it('keeps a stream\'s own socket methods', async () => {
    const controller = new AbortController();
    const own = new PassThrough() as PassThrough & Partial<SocketMethods>;
    const calls: unknown[] = [];
    own.setTimeout = (ms: unknown) => (calls.push(ms), own);
    const pool = new StreamPool({ dialer: { dial: async () => own }, maxIdleStreams: 4, idleStreamTimeoutMs: 60_000, signal: controller.signal });
    try {
      const s = (await connect(pool)) as Duplex & SocketMethods;
      s.setTimeout(5);
      expect(calls).toEqual([5]);
      s.destroy();
    } finally {
      controller.abort();
      pool.destroy();
    }
  });
});
