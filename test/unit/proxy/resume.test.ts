/**
 * Ride-through of watches and `logs -f` (resume-budget.ts, resumable-relay.ts, watch-resume.ts,
 * log-resume.ts): the outage budget and its backoff, timestamps stripped and the log deduplicated
 * at the sinceTime boundary, a 410 on resume passed on as the apiserver would, and what the client
 * gets once the budget is spent.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createServer, get as httpGet, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DEFAULT_RESUME_POLICY, ResumeBudget, type ResumePolicy } from '../../../src/proxy/resume-budget.js';
import { relayResumable, type ResumableBody } from '../../../src/proxy/resumable-relay.js';
import { UpstreamResponse } from '../../../src/proxy/upstream-response.js';
import { WATCH_GAVE_UP_MESSAGE, errorEvent, watchBody } from '../../../src/proxy/watch-resume.js';
import { ArcproxyError } from '../../../src/errors/index.js';
import { isResumableLog, logBody, timestampInstant, timestampedLogPath } from '../../../src/proxy/log-resume.js';

describe('ResumeBudget', () => {
  const policy: ResumePolicy = { outageBudgetMs: 60_000, backoff: { initialMs: 250, maxMs: 2_000 }, stableMs: 10_000 };

  it('tries at once, then with growing jittered delays capped at maxMs, and gives up after the outage budget', () => {
    let now = 0;
    const budget = new ResumeBudget(
      policy,
      () => now,
      () => 0.9999999,
    );
    const delays: number[] = [];
    for (let d = budget.down(); d !== undefined; d = budget.down()) {
      delays.push(d);
      // Each try takes 100 ms to fail.
      now += d + 100;
    }
    expect(delays.slice(0, 6)).toEqual([0, 250, 500, 1000, 2000, 2000]);
    expect(Math.max(...delays)).toBe(2000);
    // Gave up once 60 s of outage had passed, not before.
    expect(now).toBeGreaterThanOrEqual(60_000);
    expect(now).toBeLessThan(60_000 + 2_100);
  });

  it('counts only the time without a stream: answers in between do not reset the gap, progress does', () => {
    let now = 0;
    const budget = new ResumeBudget(
      { ...policy, outageBudgetMs: 1_000 },
      () => now,
      () => 0,
    );
    expect(budget.down()).toBe(0);
    now += 600;
    budget.up();
    // Answered but cut again at once (no event): the same gap, 400 ms left.
    now += 5_000;
    expect(budget.down()).toBe(125);
    now += 500;
    expect(budget.down()).toBeUndefined();

    const fresh = new ResumeBudget(
      { ...policy, outageBudgetMs: 1_000 },
      () => now,
      () => 0,
    );
    fresh.down();
    now += 900;
    fresh.up();
    fresh.progress();
    // A new gap: a full budget and the first try at once again.
    expect(fresh.down()).toBe(0);
    now += 900;
    expect(fresh.down()).toBeDefined();
  });

  it('ends the gap when a resumed stream stays up for stableMs even without a byte', () => {
    let now = 0;
    const budget = new ResumeBudget(
      { ...policy, outageBudgetMs: 1_000 },
      () => now,
      () => 0,
    );
    budget.down();
    now += 900;
    budget.up();
    now += policy.stableMs;
    expect(budget.down()).toBe(0);
    now += 900;
    expect(budget.down()).toBeDefined();
  });

  it('defaults to 90 s of outage per gap: an agent offline for a minute fits', () => {
    expect(DEFAULT_RESUME_POLICY.outageBudgetMs).toBe(90_000);
  });
});

describe('followed logs', () => {
  it('resumes GET pods/log with follow only, without limitBytes or previous', () => {
    expect(isResumableLog('GET', '/api/v1/namespaces/default/pods/p/log?follow=true')).toBe(true);
    expect(isResumableLog('GET', '/api/v1/namespaces/default/pods/p/log?follow=1&container=c')).toBe(true);
    expect(isResumableLog('GET', '/api/v1/namespaces/default/pods/p/log')).toBe(false);
    expect(isResumableLog('GET', '/api/v1/namespaces/default/pods/p/log?follow=true&limitBytes=10')).toBe(false);
    expect(isResumableLog('GET', '/api/v1/namespaces/default/pods/p/log?follow=true&previous=true')).toBe(false);
    expect(isResumableLog('POST', '/api/v1/namespaces/default/pods/p/log?follow=true')).toBe(false);
    expect(isResumableLog('GET', '/api/v1/namespaces/default/pods/log?follow=true')).toBe(false);
  });

  it('asks the agent for timestamps', () => {
    expect(timestampedLogPath('/api/v1/namespaces/d/pods/p/log?follow=true')).toBe('/api/v1/namespaces/d/pods/p/log?follow=true&timestamps=true');
    expect(timestampedLogPath('/api/v1/namespaces/d/pods/p/log?follow=true&timestamps=false')).toBe(
      '/api/v1/namespaces/d/pods/p/log?follow=true&timestamps=true',
    );
  });

  it('reads RFC3339Nano timestamps to the nanosecond, any offset', () => {
    expect(timestampInstant('2026-01-02T03:04:05.000000001Z')).toEqual([Date.parse('2026-01-02T03:04:05Z'), 1]);
    expect(timestampInstant('2026-01-02T04:04:05.5+01:00')).toEqual([Date.parse('2026-01-02T03:04:05Z'), 500_000_000]);
    expect(timestampInstant('2026-01-02T03:04:05Z')).toEqual([Date.parse('2026-01-02T03:04:05Z'), 0]);
    expect(timestampInstant('hello')).toBeUndefined();
  });

  const T1 = '2026-01-02T03:04:05.100000000Z';
  const T2 = '2026-01-02T03:04:05.200000000Z';
  const T3 = '2026-01-02T03:04:06.000000000Z';
  const text = (b: Buffer) => b.toString('utf8');

  it('strips the timestamps the client did not ask for, keeps those it did', () => {
    const path = '/api/v1/namespaces/d/pods/p/log?follow=true';
    expect(text(logBody(path).lines(Buffer.from(`${T1} one\n${T2} two\n`)))).toBe('one\ntwo\n');
    expect(text(logBody(`${path}&timestamps=true`).lines(Buffer.from(`${T1} one\n${T2} two\n`)))).toBe(`${T1} one\n${T2} two\n`);
    // A line without one (not what the kubelet writes) passes as it is.
    expect(text(logBody(path).lines(Buffer.from('no stamp here\n')))).toBe('no stamp here\n');
  });

  it('resumes from the last timestamp and drops what was sent: earlier lines of that second, and the same lines at that timestamp', () => {
    const body = logBody('/api/v1/namespaces/d/pods/p/log?follow=true&tailLines=10');
    expect(text(body.lines(Buffer.from(`${T1} a\n${T2} b\n${T2} b\n`)))).toBe('a\nb\nb\n');
    const resume = new URL(body.resumePath()!, 'http://x').searchParams;
    expect(resume.get('sinceTime')).toBe(T2);
    expect(resume.get('timestamps')).toBe('true');
    expect(resume.has('tailLines')).toBe(false);
    // The agent sends the whole second again (sinceTime to the second, inclusive), then new lines,
    // one of them at the same timestamp with other text.
    expect(text(body.lines(Buffer.from(`${T1} a\n${T2} b\n${T2} b\n${T2} c\n${T3} d\n`)))).toBe('c\nd\n');
    // Cut again: from the new last timestamp.
    expect(new URL(body.resumePath()!, 'http://x').searchParams.get('sinceTime')).toBe(T3);
    expect(text(body.lines(Buffer.from(`${T3} d\n${T3} d\n`)))).toBe('d\n');
  });

  it('passes a repeated line that was not sent before the cut: dedupe counts, it does not just compare', () => {
    const body = logBody('/api/v1/namespaces/d/pods/p/log?follow=true');
    body.lines(Buffer.from(`${T2} same\n`));
    body.resumePath();
    expect(text(body.lines(Buffer.from(`${T2} same\n${T2} same\n`)))).toBe('same\n');
  });

  it('sends the first request again when no line was seen before the cut', () => {
    const body = logBody('/api/v1/namespaces/d/pods/p/log?follow=true&tailLines=5');
    expect(body.resumePath()).toBe('/api/v1/namespaces/d/pods/p/log?follow=true&tailLines=5&timestamps=true');
  });
});

// ---- through relayResumable, with stand-in upstream responses ----

class FakeUpstream {
  readonly res: UpstreamResponse;
  constructor(statusCode = 200) {
    this.res = new UpstreamResponse(
      { statusCode, statusMessage: '', httpMinor: 1, rawHeaders: ['Content-Type', 'application/json'] },
      { pause: () => undefined, resume: () => undefined, abort: () => this.res.cut() },
    );
  }
  send(s: string): void {
    this.res.deliver(Buffer.from(s));
  }
  end(s = ''): void {
    if (s) this.send(s);
    this.res.finish();
  }
  cut(): void {
    this.res.cut();
  }
}

const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
});

interface Run {
  first: FakeUpstream;
  reopened: string[];
  result: Promise<{ body: string; ended: 'end' | 'cut' }>;
  body: () => string;
}

/** A client reading a response relayed by relayResumable; `next` answers each reopen. */
async function run(body: ResumableBody, next: (path: string, n: number) => Promise<FakeUpstream>, policy?: ResumePolicy): Promise<Run> {
  const first = new FakeUpstream();
  const reopened: string[] = [];
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.flushHeaders();
    relayResumable(first.res, res, {
      body,
      reopen: async (path) => {
        reopened.push(path);
        return (await next(path, reopened.length)).res;
      },
      budget: new ResumeBudget(policy ?? { outageBudgetMs: 5_000, backoff: { initialMs: 5, maxMs: 20 }, stableMs: 10_000 }),
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  let got = '';
  const result = new Promise<{ body: string; ended: 'end' | 'cut' }>((resolve, reject) => {
    httpGet({ port: (server.address() as AddressInfo).port, host: '127.0.0.1', path: '/' }, (res) => {
      res.on('data', (d: Buffer) => (got += d.toString()));
      res.on('end', () => resolve({ body: got, ended: 'end' }));
      res.on('aborted', () => resolve({ body: got, ended: 'cut' }));
      res.on('error', () => resolve({ body: got, ended: 'cut' }));
    }).on('error', reject);
  });
  await expect.poll(() => first.res.listenerCount('data')).toBe(1);
  return { first, reopened, result, body: () => got };
}

const ev = (type: string, name: string, rv: string) => `${JSON.stringify({ type, object: { metadata: { name, resourceVersion: rv } } })}\n`;

describe('watchBody', () => {
  const line = (o: object) => Buffer.from(`${JSON.stringify(o)}\n`);
  it('does not resume a watch-list cut among its initial events; after their closing bookmark it resumes from it', () => {
    const path = '/api/v1/pods?watch=1&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true';
    const body = watchBody(path);
    expect(body.resumePath()).toBe(path);
    body.lines(line({ type: 'ADDED', object: { metadata: { name: 'b', resourceVersion: '9' } } }));
    body.lines(line({ type: 'ADDED', object: { metadata: { name: 'a', resourceVersion: '3' } } }));
    expect(body.resumePath()).toBeUndefined();
    body.lines(line({ type: 'BOOKMARK', object: { metadata: { resourceVersion: '12', annotations: { 'k8s.io/initial-events-end': 'true' } } } }));
    expect(body.resumePath()).toBe('/api/v1/pods?watch=1&allowWatchBookmarks=true&resourceVersion=12');
  });

  it('resumes from the latest resourceVersion however the events came: lines without one, empty ones and ERROR events keep the one before', () => {
    const body = watchBody('/api/v1/pods?watch=1');
    body.lines(line({ type: 'ADDED', object: { metadata: { name: 'a', resourceVersion: '5' } } }));
    body.lines(Buffer.from(ev('MODIFIED', 'a', '6') + ev('MODIFIED', 'a', '7')));
    expect(body.resumePath()).toBe('/api/v1/pods?watch=1&resourceVersion=7');
    body.lines(line({ type: 'ADDED', object: { metadata: { name: 'no-rv' } } }));
    expect(body.resumePath()).toBe('/api/v1/pods?watch=1&resourceVersion=7');
    body.lines(Buffer.from(ev('ADDED', 'b', '8')));
    body.lines(Buffer.from(ev('ADDED', 'empty-rv', '')));
    expect(body.resumePath()).toBe('/api/v1/pods?watch=1&resourceVersion=8');
    body.lines(Buffer.from(ev('ADDED', 'c', '9')));
    body.lines(line({ type: 'ERROR', object: { kind: 'Status', code: 500, metadata: { resourceVersion: '1' } } }));
    expect(body.resumePath()).toBe('/api/v1/pods?watch=1&resourceVersion=9');
    // ERROR events however written: type not first, or after another event in the same chunk.
    body.lines(Buffer.from(`{"object":{"kind":"Status","metadata":{"resourceVersion":"2"}},"type":"ERROR"}\n`));
    expect(body.resumePath()).toBe('/api/v1/pods?watch=1&resourceVersion=9');
    body.lines(Buffer.from(ev('ADDED', 'd', '9a')));
    body.lines(Buffer.from(`${ev('ADDED', 'e', '')}{"type":"ERROR","object":{"metadata":{"resourceVersion":"3"}}}\n`));
    expect(body.resumePath()).toBe('/api/v1/pods?watch=1&resourceVersion=9a');
    // A Table whose own resourceVersion is empty: readEvent takes none from it, so the one before stands.
    body.lines(Buffer.from(ev('ADDED', 'f', '9b')));
    body.lines(
      line({ type: 'ADDED', object: { kind: 'Table', metadata: { resourceVersion: '' }, rows: [{ object: { metadata: { resourceVersion: '9c' } } }] } }),
    );
    expect(body.resumePath()).toBe('/api/v1/pods?watch=1&resourceVersion=9b');
    // An event too large to keep unread, then small ones again.
    body.lines(line({ type: 'MODIFIED', object: { metadata: { name: 'big', resourceVersion: '10', annotations: { a: 'x'.repeat(40_000) } } } }));
    expect(body.resumePath()).toBe('/api/v1/pods?watch=1&resourceVersion=10');
    body.lines(Buffer.from(ev('DELETED', 'big', '11')));
    expect(body.resumePath()).toBe('/api/v1/pods?watch=1&resourceVersion=11');
  });

  it('does not parse events as they pass once the initial events are over, only when a resume asks', () => {
    const body = watchBody('/api/v1/pods?watch=1');
    const parse = vi.spyOn(JSON, 'parse');
    try {
      for (let i = 1; i <= 100; i++) expect(body.lines(Buffer.from(ev('MODIFIED', 'a', String(i)))).toString()).toBe(ev('MODIFIED', 'a', String(i)));
      expect(parse).not.toHaveBeenCalled();
      expect(body.resumePath()).toBe('/api/v1/pods?watch=1&resourceVersion=100');
      expect(parse).toHaveBeenCalledTimes(1);
    } finally {
      parse.mockRestore();
    }
  });

  it('keeps a copy of the unread lines, not a view of the buffer they were read into', () => {
    const body = watchBody('/api/v1/pods?watch=1');
    const read = Buffer.from(ev('ADDED', 'a', '42'));
    body.lines(read);
    // The buffer is reused for later reads: what was kept must not change with it.
    read.fill(0x20);
    expect(body.resumePath()).toBe('/api/v1/pods?watch=1&resourceVersion=42');
  });

  it('turns a refusal into an ERROR event, keeping the Status the cluster sent or making one', () => {
    const body = watchBody('/api/v1/pods?watch=1');
    const status = { kind: 'Status', code: 403, reason: 'Forbidden', message: 'pods is forbidden' };
    const refused = (code: number, text: string) => JSON.parse(body.refused(code, Buffer.from(text))!.toString()) as unknown;
    expect(refused(403, JSON.stringify(status))).toEqual({ type: 'ERROR', object: status });
    expect(refused(410, '<html>')).toMatchObject({
      type: 'ERROR',
      object: { kind: 'Status', code: 410, reason: 'Expired' },
    });
  });
});

describe('resumable relay of a watch', () => {
  it('rides through failed tries and resumes from the last resourceVersion, a bookmark included: each event once', async () => {
    const later = new FakeUpstream();
    const r = await run(watchBody('/api/v1/pods?watch=true&allowWatchBookmarks=true&resourceVersion=1'), async (_p, n) => {
      // No tunnel for three tries, then an answer.
      if (n <= 3) throw new Error('no tunnel');
      return later;
    });
    r.first.send(ev('ADDED', 'a', '5') + ev('BOOKMARK', '', '7') + '{"type":"ADDED","object":{"metadata":{"name":"half');
    await expect.poll(r.body).toContain('BOOKMARK');
    r.first.cut();
    await expect.poll(() => r.reopened.length).toBe(4);
    later.end(ev('ADDED', 'b', '8'));
    const out = await r.result;
    expect(out.ended).toBe('end');
    expect(out.body).toBe(ev('ADDED', 'a', '5') + ev('BOOKMARK', '', '7') + ev('ADDED', 'b', '8'));
    expect(new Set(r.reopened)).toEqual(new Set(['/api/v1/pods?watch=true&allowWatchBookmarks=true&resourceVersion=7']));
  });

  it('passes a 410 Gone on resume as an ERROR event with its Status, then ends cleanly, as the apiserver would', async () => {
    const gone = new FakeUpstream(410);
    const status = {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'too old resource version: 5 (9)',
      reason: 'Expired',
      code: 410,
    };
    const r = await run(watchBody('/api/v1/pods?watch=true'), async () => gone);
    r.first.send(ev('ADDED', 'a', '5'));
    await expect.poll(r.body).not.toBe('');
    r.first.cut();
    await expect.poll(() => r.reopened.length).toBe(1);
    gone.end(JSON.stringify(status));
    const out = await r.result;
    expect(out).toEqual({ body: ev('ADDED', 'a', '5') + errorEvent(status).toString(), ended: 'end' });
  });

  it('retries a 5xx on resume within the budget', async () => {
    const busy = new FakeUpstream(503);
    const later = new FakeUpstream();
    const r = await run(watchBody('/api/v1/pods?watch=true'), async (_p, n) => (n === 1 ? busy : later));
    r.first.send(ev('ADDED', 'a', '5'));
    await expect.poll(r.body).not.toBe('');
    r.first.cut();
    await expect.poll(() => r.reopened.length).toBe(2);
    later.end(ev('ADDED', 'b', '6'));
    expect((await r.result).body).toBe(ev('ADDED', 'a', '5') + ev('ADDED', 'b', '6'));
  });

  it('beyond the budget: an ERROR event with a 503 Status saying what happened, then a clean end; the tries were spaced', async () => {
    const started = Date.now();
    const r = await run(
      watchBody('/api/v1/pods?watch=true'),
      async () => {
        throw new Error('no tunnel');
      },
      { outageBudgetMs: 300, backoff: { initialMs: 20, maxMs: 50 }, stableMs: 10_000 },
    );
    r.first.send(ev('ADDED', 'a', '5'));
    await expect.poll(r.body).not.toBe('');
    r.first.cut();
    const out = await r.result;
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
    expect(out.ended).toBe('end');
    const last = JSON.parse(out.body.trimEnd().split('\n').at(-1)!) as { type: string; object: { code: number; message: string } };
    expect(last).toMatchObject({ type: 'ERROR', object: { code: 503, message: WATCH_GAVE_UP_MESSAGE } });
    // Backoff: far fewer tries than a tight loop would make in 300 ms.
    expect(r.reopened.length).toBeGreaterThan(2);
    expect(r.reopened.length).toBeLessThan(20);
  });

  it('cuts at once, without retrying, when arcproxy is shutting down', async () => {
    const r = await run(watchBody('/api/v1/pods?watch=true'), async () => {
      throw new ArcproxyError('ARCPROXY_SHUTTING_DOWN', 'arcproxy is shutting down');
    });
    r.first.send(ev('ADDED', 'a', '5'));
    await expect.poll(r.body).not.toBe('');
    r.first.cut();
    expect(await r.result).toEqual({ body: ev('ADDED', 'a', '5'), ended: 'cut' });
    expect(r.reopened).toHaveLength(1);
  });

  it('stops trying once the client goes away', async () => {
    let tries = 0;
    const r = await run(
      watchBody('/api/v1/pods?watch=true'),
      async () => {
        tries++;
        throw new Error('no tunnel');
      },
      { outageBudgetMs: 60_000, backoff: { initialMs: 30, maxMs: 30 }, stableMs: 10_000 },
    );
    r.first.send(ev('ADDED', 'a', '5'));
    await expect.poll(r.body).not.toBe('');
    r.first.cut();
    await expect.poll(() => tries).toBeGreaterThan(1);
    for (const s of servers) s.closeAllConnections();
    await r.result;
    const after = tries;
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(tries).toBe(after);
  });
});

describe('resumable relay of a followed log', () => {
  const T = (s: number, ns: number) => `2026-01-02T03:04:0${s}.${String(ns).padStart(9, '0')}Z`;

  it('resumes with sinceTime and gives the client every line once, without the timestamps it did not ask for', async () => {
    const later = new FakeUpstream();
    const r = await run(logBody('/api/v1/namespaces/d/pods/p/log?follow=true'), async () => later);
    r.first.send(`${T(1, 1)} line 1\n${T(1, 2)} line 2\n${T(1, 3)} line`);
    await expect.poll(r.body).toBe('line 1\nline 2\n');
    r.first.cut();
    await expect.poll(() => r.reopened.length).toBe(1);
    expect(new URL(r.reopened[0]!, 'http://x').searchParams.get('sinceTime')).toBe(T(1, 2));
    later.end(`${T(1, 1)} line 1\n${T(1, 2)} line 2\n${T(1, 3)} line 3\n${T(2, 0)} line 4\n`);
    expect(await r.result).toEqual({ body: 'line 1\nline 2\nline 3\nline 4\n', ended: 'end' });
  });

  it('beyond the budget the response is cut, so kubectl reports an error rather than a container that stopped', async () => {
    const r = await run(
      logBody('/api/v1/namespaces/d/pods/p/log?follow=true'),
      async () => {
        throw new Error('no tunnel');
      },
      { outageBudgetMs: 100, backoff: { initialMs: 10, maxMs: 20 }, stableMs: 10_000 },
    );
    r.first.send(`${T(1, 1)} line 1\n`);
    await expect.poll(r.body).toBe('line 1\n');
    r.first.cut();
    expect(await r.result).toEqual({ body: 'line 1\n', ended: 'cut' });
  });

  it('ends cleanly when the pod is gone on resume (404), as the log of a deleted pod ends', async () => {
    const gone = new FakeUpstream(404);
    const r = await run(logBody('/api/v1/namespaces/d/pods/p/log?follow=true'), async () => gone);
    r.first.send(`${T(1, 1)} line 1\n`);
    await expect.poll(r.body).toBe('line 1\n');
    r.first.cut();
    await expect.poll(() => r.reopened.length).toBe(1);
    gone.end('{"kind":"Status","code":404}');
    expect(await r.result).toEqual({ body: 'line 1\n', ended: 'end' });
  });
});
