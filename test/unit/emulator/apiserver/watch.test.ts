/** Watches: initial ADDED events, resume from a resourceVersion, Table events, timeouts, close. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, startHarness, stream, TABLE_ACCEPT, type Harness, type LineStream } from './harness.js';

let h: Harness;
const open = new Set<LineStream>();
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  for (const s of open) s.close();
  await h?.server.close();
});

async function watch(path: string, accept?: string): Promise<LineStream> {
  const s = await stream(h, path, { token: h.admin, ...(accept ? { headers: { accept } } : {}) });
  open.add(s);
  return s;
}

const event = async (s: LineStream) => JSON.parse(await s.next()) as { type: string; object: any };

describe('watch', () => {
  it('streams ADDED for existing pods, then changes as they happen, chunked', async () => {
    const s = await watch('/api/v1/namespaces/default/pods?watch=true');
    expect(s.status).toBe(200);
    expect(s.headers['transfer-encoding']).toBe('chunked');
    const initial = [await event(s), await event(s), await event(s)];
    expect(initial.map((e) => [e.type, e.object.metadata.name])).toEqual([
      ['ADDED', 'hello-0'],
      ['ADDED', 'hello-1'],
      ['ADDED', 'hello-2'],
    ]);
    await h.server.createPod('default', 'w-added');
    const added = await event(s);
    expect([added.type, added.object.kind, added.object.metadata.name]).toEqual(['ADDED', 'Pod', 'w-added']);
    h.server.deletePod('default', 'w-added');
    const deleted = await event(s);
    expect([deleted.type, deleted.object.metadata.name]).toEqual(['DELETED', 'w-added']);
    expect(Number(deleted.object.metadata.resourceVersion)).toBeGreaterThan(Number(added.object.metadata.resourceVersion));
    s.close();
  });

  it('from a resourceVersion sends only newer changes', async () => {
    const rv = (await call(h, '/api/v1/namespaces/default/pods', { token: h.admin })).json().metadata.resourceVersion;
    await h.server.createPod('default', 'w-after-list');
    const s = await watch(`/api/v1/namespaces/default/pods?resourceVersion=${rv}&watch=true`);
    const first = await event(s);
    expect([first.type, first.object.metadata.name]).toEqual(['ADDED', 'w-after-list']);
    h.server.deletePod('default', 'w-after-list');
    expect((await event(s)).type).toBe('DELETED');
    s.close();
  });

  it('honours namespaces and selectors', async () => {
    const s = await watch('/api/v1/pods?watch=true&fieldSelector=metadata.namespace%3Dkube-system');
    await h.server.createPod('default', 'w-other-ns');
    await h.server.createPod('kube-system', 'w-this-ns');
    const e = await event(s);
    expect([e.type, e.object.metadata.namespace, e.object.metadata.name]).toEqual(['ADDED', 'kube-system', 'w-this-ns']);
    h.server.deletePod('default', 'w-other-ns');
    h.server.deletePod('kube-system', 'w-this-ns');
    expect((await event(s)).object.metadata.name).toBe('w-this-ns');
    s.close();
  });

  it('sends a one-row Table per event when asked for as=Table', async () => {
    const s = await watch('/api/v1/namespaces/default/pods?watch=true&fieldSelector=metadata.name%3Dhello-1', TABLE_ACCEPT);
    const e = await event(s);
    expect(e.type).toBe('ADDED');
    expect(e.object.kind).toBe('Table');
    expect(e.object.rows).toHaveLength(1);
    expect(e.object.rows[0].cells.slice(0, 3)).toEqual(['hello-1', '1/1', 'Running']);
    expect(e.object.rows[0].object).toMatchObject({ kind: 'PartialObjectMetadata', metadata: { name: 'hello-1' } });
    s.close();
  });

  it('serves the legacy /watch/ path and single-object watches', async () => {
    const s = await watch('/api/v1/watch/namespaces/default/pods/hello-2');
    const e = await event(s);
    expect([e.type, e.object.metadata.name]).toEqual(['ADDED', 'hello-2']);
    await h.server.createPod('default', 'w-not-hello-2');
    h.server.deletePod('default', 'hello-2');
    // The other pod's ADDED is not for this watch: the next event is hello-2's deletion.
    const next = await event(s);
    expect([next.type, next.object.metadata.name]).toEqual(['DELETED', 'hello-2']);
    h.server.deletePod('default', 'w-not-hello-2');
    s.close();
  });

  it('ends the watch after timeoutSeconds', async () => {
    const started = Date.now();
    const s = await watch('/api/v1/namespaces?watch=true&timeoutSeconds=1');
    expect((await event(s)).object.kind).toBe('Namespace');
    await s.ended;
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
  });

  it('ends the initial events with an annotated BOOKMARK for sendInitialEvents', async () => {
    const s = await watch('/api/v1/namespaces?watch=true&sendInitialEvents=true&allowWatchBookmarks=true&resourceVersionMatch=NotOlderThan');
    expect((await event(s)).type).toBe('ADDED');
    expect((await event(s)).type).toBe('ADDED');
    const bookmark = await event(s);
    expect(bookmark.type).toBe('BOOKMARK');
    expect(bookmark.object.metadata.annotations).toEqual({ 'k8s.io/initial-events-end': 'true' });
    s.close();
  });

  it('answers a resourceVersion that is not a number with an Expired ERROR event', async () => {
    const s = await watch('/api/v1/pods?watch=true&resourceVersion=abc');
    const e = await event(s);
    expect(e).toMatchObject({ type: 'ERROR', object: { kind: 'Status', reason: 'Expired', code: 410 } });
    await s.ended;
  });

  it('close() ends open watches', async () => {
    const own = await startHarness();
    const s = await stream(own, '/api/v1/pods?watch=true', { token: own.admin });
    await s.next();
    await own.server.close();
    await s.ended;
  });
});
