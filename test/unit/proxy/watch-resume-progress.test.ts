/**
 * relayWatch on a fake clock: a watch cut again and again without a new event gives up after a
 * few quick resumes, but one whose streams each carried it for a while (cut by hybrid connections
 * deleted at each credential's expiry, close 1001) keeps being resumed.
 */
import { PassThrough } from 'node:stream';
import type { ServerResponse } from 'node:http';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { relayWatch } from '../../../src/proxy/watch-resume.js';
import { UpstreamResponse } from '../../../src/proxy/upstream-response.js';

beforeEach(() => {
  vi.useFakeTimers({ now: 1_000_000, toFake: ['setTimeout', 'clearTimeout', 'Date'] });
});
afterEach(() => {
  vi.useRealTimers();
});

const noop = (): void => undefined;

function watchResponse(): UpstreamResponse {
  return new UpstreamResponse(
    { httpMinor: 1, statusCode: 200, statusMessage: 'OK', rawHeaders: ['Content-Type', 'application/json'] },
    { pause: noop, resume: noop, abort: noop },
  );
}

/** A watch relayed to a fake client; each reopen hands back a fresh response the test can cut. */
function setup() {
  const res = new PassThrough() as unknown as ServerResponse;
  const current: UpstreamResponse[] = [watchResponse()];
  const reopened: string[] = [];
  relayWatch(current[0]!, res, {
    path: '/api/v1/pods?watch=true',
    reopen: async (path) => {
      reopened.push(path);
      const next = watchResponse();
      current.push(next);
      return next;
    },
  });
  current[0]!.deliver(Buffer.from('{"type":"ADDED","object":{"metadata":{"name":"a","resourceVersion":"5"}}}\n'));
  return { res, current, reopened };
}

describe('relayWatch: resumes without a new event', () => {
  it('gives up after a few cuts in quick succession (the client re-lists)', async () => {
    const { res, current, reopened } = setup();
    for (let i = 0; i < 6 && !res.destroyed; i++) {
      current.at(-1)!.destroy();
      await vi.advanceTimersByTimeAsync(1_500);
    }
    expect(reopened.length).toBe(4);
    expect(res.destroyed).toBe(true);
  });

  it('keeps resuming a quiet watch whose streams each carried it for a few seconds', async () => {
    const { res, current, reopened } = setup();
    for (let i = 0; i < 8; i++) {
      await vi.advanceTimersByTimeAsync(3_000);
      current.at(-1)!.destroy();
      await vi.advanceTimersByTimeAsync(1_500);
    }
    expect(reopened).toHaveLength(8);
    expect(reopened.every((p) => p === '/api/v1/pods?watch=true&resourceVersion=5')).toBe(true);
    expect(res.destroyed).toBe(false);
    res.destroy();
  });
});
