/** StreamPool on its own: take/release, LIFO reuse, the idle bound and timer, drops, shutdown. */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Duplex } from 'node:stream';
import type { StreamDialer } from '../../../src/tunnel/dialer.js';
import { StreamPool } from '../../../src/proxy/stream-pool.js';
import { once } from './helpers.js';

/** A stream that accepts writes and produces only what the test pushes. */
function fakeStream(): Duplex {
  return new Duplex({
    read() {},
    write(_chunk, _enc, cb) {
      cb();
    },
  });
}

interface Rig {
  pool: StreamPool;
  controller: AbortController;
  dialled: Duplex[];
}

const pools: Rig[] = [];
afterEach(() => {
  for (const r of pools.splice(0)) {
    r.controller.abort();
    r.pool.destroy();
  }
});

function rig(opts: { maxIdleStreams?: number; idleStreamTimeoutMs?: number; dialer?: StreamDialer } = {}): Rig {
  const controller = new AbortController();
  const dialled: Duplex[] = [];
  const dialer: StreamDialer = opts.dialer ?? {
    dial: async () => {
      const s = fakeStream();
      dialled.push(s);
      return s;
    },
  };
  const pool = new StreamPool({
    dialer,
    maxIdleStreams: opts.maxIdleStreams ?? 4,
    idleStreamTimeoutMs: opts.idleStreamTimeoutMs ?? 60_000,
    signal: controller.signal,
  });
  const r = { pool, controller, dialled };
  pools.push(r);
  return r;
}

describe('StreamPool', () => {
  it('dials when nothing is idle, and hands back released streams most recent first', async () => {
    const { pool, dialled } = rig();
    const a = await pool.take();
    const b = await pool.take();
    expect([a.reused, b.reused]).toEqual([false, false]);
    expect(dialled).toEqual([a.stream, b.stream]);
    pool.release(a.stream);
    pool.release(b.stream);
    const next = await pool.take();
    expect(next).toEqual({ stream: b.stream, reused: true });
    expect((await pool.take()).stream).toBe(a.stream);
    expect(dialled).toHaveLength(2);
  });

  it('gives no new request to a stream the dialer retired (its credential was replaced), idle or released', async () => {
    const retired = new Set<Duplex>();
    const dialled: Duplex[] = [];
    const dialer: StreamDialer = {
      dial: async () => {
        const s = fakeStream();
        dialled.push(s);
        return s;
      },
      retired: (s) => retired.has(s),
    };
    const { pool } = rig({ dialer });
    const a = await pool.take();
    const b = await pool.take();
    pool.release(a.stream);
    retired.add(a.stream).add(b.stream);
    // Idle when retired: closed at the next take, which dials a fresh one.
    const next = await pool.take();
    expect(next.reused).toBe(false);
    expect(a.stream.destroyed).toBe(true);
    // Busy when retired: closed when its response ends, never parked.
    pool.release(b.stream);
    expect(b.stream.destroyed).toBe(true);
    expect(dialled).toHaveLength(3);
  });

  it('keeps at most maxIdleStreams idle and closes the rest', async () => {
    const { pool } = rig({ maxIdleStreams: 2 });
    const taken = await Promise.all([pool.take(), pool.take(), pool.take()]);
    for (const t of taken) pool.release(t.stream);
    expect(taken.map((t) => t.stream.destroyed)).toEqual([false, false, true]);
  });

  it('closes an idle stream after idleStreamTimeoutMs', async () => {
    const { pool, dialled } = rig({ idleStreamTimeoutMs: 20 });
    const { stream } = await pool.take();
    pool.release(stream);
    await once(stream, 'close');
    expect((await pool.take()).stream).not.toBe(stream);
    expect(dialled).toHaveLength(2);
  });

  it('a stream that is taken again is not closed by its old idle timer', async () => {
    const { pool } = rig({ idleStreamTimeoutMs: 20 });
    const { stream } = await pool.take();
    pool.release(stream);
    expect((await pool.take()).stream).toBe(stream);
    // Another stream's timer firing proves the time has passed.
    const other = fakeStream();
    pool.release(other);
    await once(other, 'close');
    expect(stream.destroyed).toBe(false);
  });

  it('drops an idle stream that closes, errors, ends or sends bytes nobody asked for', async () => {
    const { pool, dialled } = rig();
    const taken = await Promise.all([pool.take(), pool.take(), pool.take(), pool.take()]);
    for (const t of taken) pool.release(t.stream);
    const [closes, errors, ends, talks] = taken.map((t) => t.stream);
    closes!.destroy();
    errors!.destroy(new Error('relay closed 1006'));
    ends!.push(null);
    talks!.push(Buffer.from('HTTP/1.1 408 Request Timeout\r\n\r\n'));
    await Promise.all([closes, errors, ends, talks].map((s) => (s!.closed ? undefined : once(s!, 'close'))));
    expect(taken.every((t) => t.stream.destroyed)).toBe(true);
    const fresh = await pool.take();
    expect(fresh.reused).toBe(false);
    expect(dialled).toHaveLength(5);
  });

  it('does not take back a stream that is no longer usable', async () => {
    const { pool } = rig();
    const { stream } = await pool.take();
    stream.end();
    pool.release(stream);
    expect(stream.destroyed).toBe(true);
    expect((await pool.take()).reused).toBe(false);
  });

  it('hands a taken stream over paused, with none of its idle listeners', async () => {
    const { pool } = rig();
    const { stream } = await pool.take();
    const before = ['data', 'end', 'close'].map((e) => stream.listenerCount(e));
    pool.release(stream);
    expect(stream.isPaused()).toBe(false);
    const again = await pool.take();
    expect(again.stream.isPaused()).toBe(true);
    expect(['data', 'end', 'close'].map((e) => stream.listenerCount(e))).toEqual(before);
  });

  it('dial() opens a stream outside the pool every time', async () => {
    const { pool, dialled } = rig();
    const { stream } = await pool.take();
    pool.release(stream);
    const fresh = await pool.dial();
    expect(fresh).not.toBe(stream);
    expect(dialled).toHaveLength(2);
  });

  it('hands out the prewarmed stream as a reused one when no idle stream is left', async () => {
    const { pool, dialled } = rig();
    expect(await pool.prewarm()).toBe(true);
    const first = await pool.take();
    expect(first).toEqual({ stream: dialled[0], reused: true });
    expect((await pool.take()).reused).toBe(false);
  });

  it('passes the dialer error on, and refuses with ARCPROXY_SHUTTING_DOWN once aborted', async () => {
    const failing = rig({ dialer: { dial: () => Promise.reject(Object.assign(new Error('no listener'), { code: 'ARCPROXY_RELAY_NO_LISTENER' })) } });
    await expect(failing.pool.take()).rejects.toMatchObject({ code: 'ARCPROXY_RELAY_NO_LISTENER' });

    const { pool, controller } = rig();
    controller.abort();
    await expect(pool.take()).rejects.toMatchObject({ code: 'ARCPROXY_SHUTTING_DOWN' });
    await expect(pool.dial()).rejects.toMatchObject({ code: 'ARCPROXY_SHUTTING_DOWN' });
    expect(await pool.prewarm()).toBe(false);
  });

  it('closes a stream whose dial finishes after shutdown began', async () => {
    let finish!: (s: Duplex) => void;
    const late = fakeStream();
    const { pool, controller } = rig({ dialer: { dial: () => new Promise((r) => (finish = r)) } });
    const taking = pool.take();
    controller.abort();
    finish(late);
    await expect(taking).rejects.toMatchObject({ code: 'ARCPROXY_SHUTTING_DOWN' });
    expect(late.destroyed).toBe(true);
  });

  it('destroy() closes idle and prewarmed streams; later releases close theirs', async () => {
    const { pool, dialled } = rig();
    expect(await pool.prewarm()).toBe(true);
    const a = await pool.take(); // the prewarmed one
    const b = await pool.take();
    const c = await pool.take();
    expect(await pool.prewarm()).toBe(true);
    const prewarmed = dialled[3]!;
    pool.release(a.stream);
    pool.destroy();
    expect(a.stream.destroyed).toBe(true);
    expect(prewarmed.destroyed).toBe(true);
    pool.release(b.stream);
    expect(b.stream.destroyed).toBe(true);
    expect(c.stream.destroyed).toBe(false);
  });

  it('an error on a stream nobody is reading does not crash the process', async () => {
    const { pool } = rig();
    const fresh = await pool.dial();
    fresh.destroy(new Error('boom'));
    await once(fresh, 'close');
    expect(fresh.listenerCount('error')).toBeGreaterThan(0);
  });
});

describe('StreamPool.warmIdle', () => {
  it('dials in parallel until the count waits, counting what is already there, up to the idle bound', async () => {
    const { pool, dialled } = rig({ maxIdleStreams: 6 });
    expect(await pool.prewarm()).toBe(true);
    expect(await pool.warmIdle(4)).toBe(3);
    expect(dialled).toHaveLength(4);
    expect(await pool.warmIdle(4)).toBe(3); // enough wait already: no dial
    expect(dialled).toHaveLength(4);
    expect(await pool.warmIdle(100)).toBe(5);
    expect(dialled).toHaveLength(6);
    const taken = [await pool.take(), await pool.take()];
    expect(taken.every((t) => t.reused)).toBe(true);
    expect(dialled).toHaveLength(6);
  });

  it('starts every dial at once, and a request that finds nothing idle claims one on its way', async () => {
    const pending: ((s: Duplex) => void)[] = [];
    const { pool } = rig({ dialer: { dial: () => new Promise<Duplex>((r) => pending.push(r)) } });
    const warming = pool.warmIdle(3);
    expect(pending).toHaveLength(3);
    const claimed = pool.claimWarming();
    expect(claimed).toBeDefined();
    const streams = [fakeStream(), fakeStream(), fakeStream()];
    pending.forEach((resolve, i) => resolve(streams[i]!));
    expect(await claimed).toBe(streams[0]);
    expect(await warming).toBe(2);
    expect(pool.claimWarming()).toBeUndefined();
    const next = pool.takeWaiting();
    expect(next?.stream).toBe(streams[2]); // most recent first
  });

  it('a claimed dial that fails gives undefined (its request dials its own); the rest still wait', async () => {
    let n = 0;
    const { pool } = rig({
      dialer: {
        dial: async () => {
          if (n++ === 0) throw new Error('relay down');
          return fakeStream();
        },
      },
    });
    const warming = pool.warmIdle(2);
    const claimed = pool.claimWarming();
    expect(await claimed).toBeUndefined();
    expect(await warming).toBe(1);
  });

  it('with a start delay dials nothing until it is over; a claim meanwhile starts one dial at once', async () => {
    vi.useFakeTimers();
    try {
      const pending: ((s: Duplex) => void)[] = [];
      const { pool } = rig({ dialer: { dial: () => new Promise<Duplex>((r) => pending.push(r)) } });
      const warming = pool.warmIdle(3, 25);
      // A request at the ready instant meets no warm dial in progress.
      expect(pending).toHaveLength(0);
      // They count as on their way: asking again dials nothing more.
      void pool.warmIdle(3);
      expect(pending).toHaveLength(0);
      // A request that finds nothing idle claims one and does not wait for the delay.
      const claimed = pool.claimWarming();
      expect(pending).toHaveLength(1);
      const first = fakeStream();
      pending[0]!(first);
      expect(await claimed).toBe(first);
      await vi.advanceTimersByTimeAsync(24);
      expect(pending).toHaveLength(1);
      await vi.advanceTimersByTimeAsync(1);
      expect(pending).toHaveLength(3);
      // A second claim takes one on its way; none is dialled twice.
      const second = pool.claimWarming();
      expect(pending).toHaveLength(3);
      pending[1]!(fakeStream());
      pending[2]!(fakeStream());
      expect(await second).toBeDefined();
      expect(await warming).toBe(1);
    } finally {
      vi.useRealTimers();
    }
  });

  it('dials nothing after shutdown when its delay ends', async () => {
    vi.useFakeTimers();
    try {
      let dials = 0;
      const { pool, controller } = rig({
        dialer: {
          dial: async () => {
            dials++;
            return fakeStream();
          },
        },
      });
      const warming = pool.warmIdle(2, 25);
      controller.abort();
      await vi.advanceTimersByTimeAsync(25);
      expect(await warming).toBe(0);
      expect(dials).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });

  it('warms nothing after shutdown, and closes dials that land after it', async () => {
    let finish!: (s: Duplex) => void;
    const late = fakeStream();
    const { pool, controller } = rig({ dialer: { dial: () => new Promise((r) => (finish = r)) } });
    const warming = pool.warmIdle(1);
    controller.abort();
    finish(late);
    expect(await warming).toBe(0);
    expect(late.destroyed).toBe(true);
    expect(await pool.warmIdle(3)).toBe(0);
  });
});
