/** Watches and log follows stream as things happen. */
import { request } from 'node:https';
import type { IncomingMessage } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, startFixture, type Fixture } from './fixture.js';

function open(f: Fixture, path: string, headers: Record<string, string> = {}): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = request(`${f.server.url}${path}`, { ca: f.ca, agent: false, headers: { authorization: `Bearer ${ADMIN}`, ...headers } }, resolve);
    req.on('error', reject);
    req.end();
  });
}

function lines(res: IncomingMessage): { next(): Promise<string>; close(): void } {
  let buf = '';
  const queue: string[] = [];
  const waiters: ((l: string) => void)[] = [];
  res.setEncoding('utf8');
  res.on('data', (d: string) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      const w = waiters.shift();
      if (w) w(line);
      else queue.push(line);
    }
  });
  return {
    next: () => (queue.length ? Promise.resolve(queue.shift()!) : new Promise((r) => waiters.push(r))),
    close: () => res.destroy(),
  };
}

describe('emulated apiserver: streams', () => {
  let f: Fixture;
  beforeAll(async () => {
    f = await startFixture();
  });
  afterAll(() => f?.server.close());

  it('a watch from a list resourceVersion delivers only later events, as they happen', async () => {
    const rv = (await f.get('/api/v1/namespaces/default/pods', ADMIN)).body.metadata.resourceVersion;
    const w = lines(await open(f, `/api/v1/namespaces/default/pods?watch=true&resourceVersion=${rv}`));
    try {
      await f.server.createPod('default', 'watched-1');
      const added = JSON.parse(await w.next());
      expect(added.type).toBe('ADDED');
      expect(added.object.metadata.name).toBe('watched-1');
      f.server.deletePod('default', 'watched-1');
      const deleted = JSON.parse(await w.next());
      expect(deleted).toMatchObject({ type: 'DELETED', object: { metadata: { name: 'watched-1' } } });
    } finally {
      w.close();
    }
  });

  it('a watch that asks for Tables gets one-row Tables', async () => {
    const w = lines(await open(f, '/api/v1/namespaces/default/pods?watch=1', { accept: 'application/json;as=Table;v=v1;g=meta.k8s.io' }));
    try {
      const first = JSON.parse(await w.next());
      expect(first.type).toBe('ADDED');
      expect(first.object.kind).toBe('Table');
      expect(first.object.rows).toHaveLength(1);
    } finally {
      w.close();
    }
  });

  it('logs -f streams new lines once a second for a logging pod', async () => {
    const l = lines(await open(f, '/api/v1/namespaces/default/pods/hello-0/log?follow=true'));
    try {
      let line = await l.next();
      while (!/line \d+/.test(line)) line = await l.next();
      const n = Number(/line (\d+)/.exec(line)![1]);
      expect(await l.next()).toContain(`line ${n + 1}`);
    } finally {
      l.close();
    }
  });

  it('logs without follow end, honouring tailLines', async () => {
    const r = await f.get('/api/v1/namespaces/default/pods/hello-1/log?tailLines=1', ADMIN);
    expect(r.status).toBe(200);
    expect(r.text.trim().split('\n')).toHaveLength(1);
  });
});
