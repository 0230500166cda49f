/** forwardRequest on a stream already waiting in the pool: the head goes out before it returns. */
import { afterEach, describe, expect, it } from 'vitest';
import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import { Duplex } from 'node:stream';
import { forwardRequest } from '../../../src/proxy/forward-request.js';
import { StreamPool } from '../../../src/proxy/stream-pool.js';

const controllers: AbortController[] = [];
afterEach(() => {
  for (const c of controllers.splice(0)) c.abort();
});

/** A pool whose one stream records what is written on it. */
async function poolWithOneStream(): Promise<{ pool: StreamPool; written: string[]; dials: () => number }> {
  const written: string[] = [];
  let dials = 0;
  const controller = new AbortController();
  controllers.push(controller);
  const pool = new StreamPool({
    dialer: {
      dial: async () => {
        dials++;
        return new Duplex({
          read() {},
          write(chunk: Buffer, _enc, cb) {
            written.push(chunk.toString('latin1'));
            cb();
          },
        });
      },
    },
    maxIdleStreams: 4,
    idleStreamTimeoutMs: 60_000,
    signal: controller.signal,
  });
  expect(await pool.prewarm()).toBe(true);
  return { pool, written, dials: () => dials };
}

function request(path: string): { req: IncomingMessage; res: ServerResponse } {
  const req = new IncomingMessage(new Socket());
  req.method = 'GET';
  req.url = path;
  req.rawHeaders = ['Host', 'cluster.example', 'Accept', 'application/json'];
  return { req, res: new ServerResponse(req) };
}

describe('forwardRequest on a waiting stream', () => {
  it('writes the request head before it returns, on the stream that was waiting', async () => {
    const { pool, written, dials } = await poolWithOneStream();
    const { req, res } = request('/api/v1/pods');
    forwardRequest(req, res, '/api/v1/pods', '/api/v1/pods', { pool, auth: { kind: 'passthrough' }, correlationId: 'corr-1' });
    expect(written).toHaveLength(1);
    expect(written[0]).toMatch(/^GET \/api\/v1\/pods HTTP\/1\.1\r\nHost: cluster\.example\r\nAccept: application\/json\r\n/);
    expect(written[0]).toContain('x-ms-correlation-request-id: corr-1\r\n');
    expect(written[0]).toMatch(/\r\nConnection: keep-alive\r\n\r\n$/);
    expect(dials()).toBe(1);
    res.destroy();
  });

  it('with nothing waiting, dials and writes once the dial is done', async () => {
    const { pool, written, dials } = await poolWithOneStream();
    pool.takeWaiting(); // the prewarmed stream goes elsewhere
    const { req, res } = request('/version');
    forwardRequest(req, res, '/version', '/version', { pool, auth: { kind: 'passthrough' } });
    expect(written).toHaveLength(0);
    await expect.poll(() => written.length).toBe(1);
    expect(written[0]).toMatch(/^GET \/version HTTP\/1\.1\r\n/);
    expect(dials()).toBe(2);
    res.destroy();
  });
});
