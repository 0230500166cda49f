/** pods/log: history, tailLines, timestamps, follow, container checks. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, demoKubernetes, startHarness, stream, type Harness, type LineStream } from './harness.js';

let h: Harness;
const open = new Set<LineStream>();
beforeAll(async () => {
  const kubernetes = demoKubernetes();
  kubernetes.pods.push({ namespace: 'default', name: 'two-containers', containers: ['app', 'sidecar'] });
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
    expect(lines[0]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z hello from hello-1: listening on 8080$/);
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

  it('404s the log of a missing pod', async () => {
    const r = await call(h, '/api/v1/namespaces/default/pods/ghost/log', { token: h.admin });
    expect(r.status).toBe(404);
    expect(r.json().message).toBe('pods "ghost" not found');
  });
});
