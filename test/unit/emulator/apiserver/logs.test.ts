/** pods/log: history, tailLines, limitBytes, timestamps, follow, container checks; generated logs. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, demoKubernetes, startHarness, stream, type Harness, type LineStream } from './harness.js';
import { expectedGeneratedLog } from '../../../helpers/generated-log.js';
import { generatedLine } from '../../../../src/emulator/apiserver/generated-log.js';
import { logTimestamp } from '../../../../src/emulator/apiserver/logs.js';

const GENERATED_SIZE = 1024 * 1024 + 37;

let h: Harness;
const open = new Set<LineStream>();
beforeAll(async () => {
  const kubernetes = demoKubernetes();
  kubernetes.pods.push({ namespace: 'default', name: 'two-containers', containers: ['app', 'sidecar'] });
  kubernetes.pods.push({ namespace: 'default', name: 'generated', logBytes: GENERATED_SIZE, echoPorts: [] });
  kubernetes.pods.push({ namespace: 'default', name: 'generated-follow', logBytes: 250, logEverySecond: true, echoPorts: [] });
  h = await startHarness({ kubernetes });
});
afterAll(async () => {
  for (const s of open) s.close();
  await h?.server.close();
});

describe('pods/log', () => {
  it('prints the start-up lines of a quiet pod', async () => {
    const r = await call(h, '/api/v1/namespaces/default/pods/hello-1/log?container=hello', { token: h.admin });
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('text/plain');
    expect(r.text).toBe('hello from hello-1: starting\nhello from hello-1: listening on 8080\n');
  });

  it('limits history with tailLines and prefixes RFC 3339 timestamps', async () => {
    const tail = await call(h, '/api/v1/namespaces/default/pods/hello-1/log?tailLines=1&timestamps=true', { token: h.admin });
    const lines = tail.text.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z hello from hello-1: listening on 8080$/);
  });

  it('cuts the log at limitBytes', async () => {
    const r = await call(h, '/api/v1/namespaces/default/pods/hello-1/log?limitBytes=10', { token: h.admin });
    expect(r.status).toBe(200);
    expect(r.text).toBe('hello from');
  });

  it('refuses tailLines and limitBytes that are not integers or out of range, as the apiserver does', async () => {
    const negative = await call(h, '/api/v1/namespaces/default/pods/hello-1/log?tailLines=-1', { token: h.admin });
    expect(negative.status).toBe(422);
    expect(negative.json()).toMatchObject({
      reason: 'Invalid',
      message: 'PodLogOptions "hello-1" is invalid: tailLines: Invalid value: -1: must be greater than or equal to 0',
      details: { name: 'hello-1', kind: 'PodLogOptions' },
    });
    const zero = await call(h, '/api/v1/namespaces/default/pods/hello-1/log?limitBytes=0', { token: h.admin });
    expect(zero.status).toBe(422);
    expect(zero.json().message).toBe('PodLogOptions "hello-1" is invalid: limitBytes: Invalid value: 0: must be greater than 0');
    const words = await call(h, '/api/v1/namespaces/default/pods/hello-1/log?tailLines=ten', { token: h.admin });
    expect(words.status).toBe(400);
    expect(words.json().reason).toBe('BadRequest');
  });

  it('follows a logging pod: lines written after the request arrive on the open response', async () => {
    const s = await stream(h, '/api/v1/namespaces/default/pods/hello-0/log?follow=true&tailLines=0', { token: h.admin });
    open.add(s);
    expect(s.status).toBe(200);
    const first = await s.next(3000);
    const second = await s.next(3000);
    const n = Number(/^hello from hello-0: line (\d+)$/.exec(first)![1]);
    expect(second).toBe(`hello from hello-0: line ${n + 1}`);
    s.close();
  });

  it('ends a follow when the pod is deleted', async () => {
    await h.server.createPod('default', 'short-lived');
    const s = await stream(h, '/api/v1/namespaces/default/pods/short-lived/log?follow=true', { token: h.admin });
    open.add(s);
    expect(await s.next()).toBe('hello from short-lived: starting');
    h.server.deletePod('default', 'short-lived');
    await s.ended;
  });

  it('asks for a container when the pod has several, and refuses an unknown one', async () => {
    const none = await call(h, '/api/v1/namespaces/default/pods/two-containers/log', { token: h.admin });
    expect(none.status).toBe(400);
    expect(none.json().message).toBe('a container name must be specified for pod two-containers, choose one of: [app sidecar]');
    expect((await call(h, '/api/v1/namespaces/default/pods/two-containers/log?container=sidecar', { token: h.admin })).status).toBe(200);
    const wrong = await call(h, '/api/v1/namespaces/default/pods/hello-1/log?container=nope', { token: h.admin });
    expect(wrong.status).toBe(400);
    expect(wrong.json().message).toBe('container nope is not valid for pod hello-1');
  });

  it("writes timestamps as the kubelet does: RFC3339Nano with all nine digits (Go's RFC3339NanoFixed)", () => {
    expect(logTimestamp(new Date('2026-01-02T03:04:05.678Z'))).toBe('2026-01-02T03:04:05.678000000Z');
    expect(logTimestamp(new Date('2026-01-02T03:04:05Z'))).toBe('2026-01-02T03:04:05.000000000Z');
  });

  it('takes sinceTime to the second and includes that second, as the apiserver passes it to the kubelet', async () => {
    const all = (await call(h, '/api/v1/namespaces/default/pods/hello-1/log?timestamps=true', { token: h.admin })).text.trimEnd().split('\n');
    const last = all.at(-1)!;
    const stamp = last.slice(0, last.indexOf(' '));
    // A sinceTime later in the same second than the last line still gives that line.
    const later = stamp.replace(/\.\d{9}Z$/, '.999999999Z');
    const r = await call(h, `/api/v1/namespaces/default/pods/hello-1/log?timestamps=true&sinceTime=${encodeURIComponent(later)}`, { token: h.admin });
    const got = r.text.trimEnd().split('\n');
    expect(got).toContain(last);
    // Only lines of that second or later, every one of them (a quiet pod: nothing new meanwhile).
    const second = stamp.slice(0, 19);
    expect(got.every((l) => l.slice(0, 19) >= second)).toBe(true);
    expect(got).toEqual(all.filter((l) => l.slice(0, 19) >= second));
    // A sinceTime after the last line's second gives nothing.
    const next = new Date(Date.parse(stamp) + 1000).toISOString();
    expect((await call(h, `/api/v1/namespaces/default/pods/hello-1/log?sinceTime=${encodeURIComponent(next)}`, { token: h.admin })).text).toBe('');
  });

  it('refuses a sinceTime that is not RFC 3339, and sinceTime with sinceSeconds', async () => {
    const bad = await call(h, '/api/v1/namespaces/default/pods/hello-1/log?sinceTime=yesterday', { token: h.admin });
    expect(bad.status).toBe(400);
    const both = await call(h, '/api/v1/namespaces/default/pods/hello-1/log?sinceTime=2020-01-01T00:00:00Z&sinceSeconds=5', { token: h.admin });
    expect(both.status).toBe(422);
    const zero = await call(h, '/api/v1/namespaces/default/pods/hello-1/log?sinceSeconds=0', { token: h.admin });
    expect(zero.status).toBe(422);
    expect((await call(h, '/api/v1/namespaces/default/pods/hello-1/log?sinceSeconds=3600', { token: h.admin })).text).toContain('hello from hello-1: starting');
  });

  it('404s the log of a missing pod', async () => {
    const r = await call(h, '/api/v1/namespaces/default/pods/ghost/log', { token: h.admin });
    expect(r.status).toBe(404);
    expect(r.json().message).toBe('pods "ghost" not found');
  });
});

describe('pods/log of a generated log (seed logBytes)', () => {
  const path = '/api/v1/namespaces/default/pods/generated/log';
  const whole = expectedGeneratedLog(GENERATED_SIZE);
  const lines = whole.split(/(?<=\n)/);

  it('streams exactly logBytes bytes of numbered lines as chunked text/plain', async () => {
    const r = await call(h, path, { token: h.admin });
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('text/plain');
    expect(r.headers['transfer-encoding']).toBe('chunked');
    expect(Buffer.byteLength(r.text)).toBe(GENERATED_SIZE);
    expect(r.text).toBe(whole);
  });

  it('takes the last lines with tailLines, the short last line included', async () => {
    expect((await call(h, `${path}?tailLines=3`, { token: h.admin })).text).toBe(lines.slice(-3).join(''));
    expect((await call(h, `${path}?tailLines=0`, { token: h.admin })).text).toBe('');
    expect((await call(h, `${path}?tailLines=100000000`, { token: h.admin })).text).toBe(whole);
  });

  it('cuts at limitBytes, after tailLines', async () => {
    expect((await call(h, `${path}?limitBytes=1000`, { token: h.admin })).text).toBe(whole.slice(0, 1000));
    expect((await call(h, `${path}?limitBytes=${GENERATED_SIZE + 1000}`, { token: h.admin })).text).toBe(whole);
    expect((await call(h, `${path}?tailLines=2&limitBytes=150`, { token: h.admin })).text).toBe(lines.slice(-2).join('').slice(0, 150));
  });

  it('prefixes each generated line with the pod start time under timestamps=true', async () => {
    const text = (await call(h, `${path}?tailLines=2&timestamps=true`, { token: h.admin })).text;
    const got = text.split('\n');
    expect(got).toHaveLength(3);
    const stamp = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z) /;
    expect(stamp.exec(got[0]!)?.[1]).toBe(stamp.exec(got[1]!)?.[1]);
    expect(got.slice(0, 2).map((l) => l.replace(stamp, '') + '\n')).toEqual(lines.slice(-2));
  });

  it('ends a follow once limitBytes is reached', async () => {
    const r = await call(h, `${path}?follow=true&limitBytes=150`, { token: h.admin });
    expect(r.text).toBe(whole.slice(0, 150));
  });

  it('follows on after the generated lines: new lines arrive on the open response', async () => {
    const s = await stream(h, '/api/v1/namespaces/default/pods/generated-follow/log?follow=true', { token: h.admin });
    open.add(s);
    expect(await s.next()).toBe(generatedLine(1).trimEnd());
    expect(await s.next()).toBe(generatedLine(2).trimEnd());
    expect(await s.next()).toBe(generatedLine(3).slice(0, 49));
    expect(await s.next(3000)).toBe('hello from generated-follow: line 1');
    s.close();
  });
});
