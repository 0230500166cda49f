/** Start-up's GET /version through arcproxy's own listener: what it sends, and what it makes of each answer. */
import { once } from 'node:events';
import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createSessionPki, type SessionPki } from '../../../src/pki/session-pki.js';
import { probeCluster } from '../../../src/session/cluster-probe.js';

let pki: Promise<SessionPki> | undefined;
const sessionPki = (): Promise<SessionPki> => (pki ??= createSessionPki());
const closers: Array<() => void> = [];
afterEach(() => {
  while (closers.length) closers.pop()!();
});

/** A listener with the session's certificates that requires its client certificate, as arcproxy's does. */
async function listener(answer: (res: ServerResponse) => void): Promise<{ port: number; seen: { url: string; headers: IncomingHttpHeaders }[] }> {
  const p = await sessionPki();
  const seen: { url: string; headers: IncomingHttpHeaders }[] = [];
  const server = createServer({ cert: p.server.cert, key: p.server.key, ca: [p.caCert], requestCert: true, rejectUnauthorized: true }, (req, res) => {
    seen.push({ url: req.url ?? '', headers: req.headers });
    answer(res);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  closers.push(() => server.close());
  return { port: (server.address() as AddressInfo).port, seen };
}

describe('the start-up check', () => {
  it('asks for /version under the path prefix with the client certificate, and reads the version', async () => {
    const l = await listener((res) => res.end(JSON.stringify({ gitVersion: 'v1.31.2' })));
    const result = await probeCluster({ port: l.port, pathPrefix: '/proxies/ab', pki: await sessionPki() });
    expect(result).toEqual({ status: 200, gitVersion: 'v1.31.2' });
    expect(l.seen[0]).toMatchObject({ url: '/proxies/ab/version?timeout=5s', headers: { 'user-agent': 'arcproxy/start-up-check' } });
    expect(l.seen[0]!.headers.authorization).toBeUndefined();
  });

  it('sends the service-account token in Token mode, as kubectl will', async () => {
    const l = await listener((res) => res.end('{}'));
    await probeCluster({ port: l.port, pathPrefix: '/p', pki: await sessionPki(), token: 'sa-token' });
    expect(l.seen[0]!.headers.authorization).toBe('Bearer sa-token');
  });

  it('reports a refusal with the Status message', async () => {
    const l = await listener((res) => {
      res.statusCode = 401;
      res.end(JSON.stringify({ kind: 'Status', message: 'Unauthorized: PoP required' }));
    });
    expect(await probeCluster({ port: l.port, pathPrefix: '/p', pki: await sessionPki() })).toEqual({ status: 401, message: 'Unauthorized: PoP required' });
  });

  it('never fails: no listener is status 0, a body that is not JSON is just its status', async () => {
    const l = await listener((res) => res.end('not json'));
    expect(await probeCluster({ port: l.port, pathPrefix: '/p', pki: await sessionPki() })).toEqual({ status: 200 });
    closers.pop()!();
    expect(await probeCluster({ port: l.port, pathPrefix: '/p', pki: await sessionPki() })).toEqual({ status: 0 });
  });
});
