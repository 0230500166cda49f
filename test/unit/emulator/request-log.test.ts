/** `arcproxy emulator --log`: one line per request, user names and never credentials. */
import { EventEmitter } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClusterAgent } from '../../../src/emulator/agent/index.js';
import { redactTarget } from '../../../src/emulator/request-log.js';
import * as agentHarness from './agent/harness.js';
import { call, rawUpgrade, startHarness, type Harness } from './apiserver/harness.js';

describe('redactTarget', () => {
  it('redacts query values whose names may carry a credential and keeps the rest as sent', () => {
    expect(redactTarget('/api/v1/pods?watch=True&labelSelector=app%3Dweb')).toBe('/api/v1/pods?watch=True&labelSelector=app%3Dweb');
    expect(redactTarget('/$hc/demo?sb-hc-action=listen&sb-hc-token=SharedAccessSignature%20sr%3Dx%26sig%3Dabc')).toBe(
      '/$hc/demo?sb-hc-action=listen&sb-hc-token=[redacted]',
    );
    expect(redactTarget('/x?access_token=eyJabc&client_secret=s3cret&sig=zzz&api-key=k')).toBe(
      '/x?access_token=[redacted]&client_secret=[redacted]&sig=[redacted]&api-key=[redacted]',
    );
    expect(redactTarget('/healthz')).toBe('/healthz');
  });
});

describe('the apiserver request log', () => {
  let h: Harness;
  const lines: string[] = [];
  beforeAll(async () => {
    h = await startHarness({ requestLog: (line) => lines.push(line) });
  });
  afterAll(() => h?.server.close());

  it('writes time, component, user name, method, path with query, status and duration; never the token', async () => {
    await call(h, '/api/v1/namespaces/default/pods?limit=5', { token: h.admin });
    await call(h, '/api/v1/namespaces/default/pods?limit=five', { token: h.admin });
    await call(h, '/api/v1/namespaces', { token: 'not-a-token' });
    await expect.poll(() => lines.length).toBe(3);
    expect(lines[0]).toMatch(
      /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z apiserver system:serviceaccount:default:demo-admin GET \/api\/v1\/namespaces\/default\/pods\?limit=5 200 \d+ms\n$/,
    );
    expect(lines[1]).toMatch(/ GET \/api\/v1\/namespaces\/default\/pods\?limit=five 400 \d+ms\n$/);
    expect(lines[2]).toMatch(/ apiserver - GET \/api\/v1\/namespaces 401 \d+ms\n$/);
    expect(lines.join('')).not.toContain(h.admin);
  });

  it('logs an upgrade with the status it was answered', async () => {
    lines.length = 0;
    await rawUpgrade(h, '/api/v1/namespaces/default/pods/ghost/exec?command=ls&stdout=true', {
      Authorization: `Bearer ${h.viewer}`,
      Upgrade: 'websocket',
      'Sec-WebSocket-Version': '13',
      'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
      'Sec-WebSocket-Protocol': 'v5.channel.k8s.io',
    });
    await expect.poll(() => lines.length).toBe(1);
    expect(lines[0]).toMatch(
      / apiserver system:serviceaccount:default:demo-viewer GET \/api\/v1\/namespaces\/default\/pods\/ghost\/exec\?command=ls&stdout=true 403 \d+ms\n$/,
    );
  });
});

describe('the agent request log', () => {
  it('names the Entra caller it impersonates, passthrough tokens and refusals, never a token', async () => {
    const lines: string[] = [];
    const issuer = await agentHarness.createIssuer();
    const api = await agentHarness.startApiserver();
    const agent = await createClusterAgent({
      source: () => Object.assign(new EventEmitter(), { start() {}, close: async () => {} }),
      apiserver: { url: api.url, ca: api.ca, token: agentHarness.AGENT_TOKEN },
      entra: { tenantId: agentHarness.TENANT, issuer: agentHarness.ISSUER, jwks: issuer.jwks },
      cluster: agentHarness.LENIENT_CLUSTER,
      requestLog: (line) => lines.push(line),
    });
    const front = await agentHarness.startFront((s) => agent.serveStream(s));
    try {
      const oid = 'd4c3b2a1-6e5f-4a7b-8c9d-2e1f0a9b8c7d';
      const entraToken = await issuer.sign({ oid });
      await agentHarness.send(front, { path: '/api/v1/namespaces?watch=True', headers: { authorization: `Bearer ${entraToken}` } });
      await agentHarness.send(front, { path: '/api/v1/pods', headers: { authorization: 'Bearer some-service-account-token' } });
      await agentHarness.send(front, { path: '/api/v1/pods', headers: { authorization: `Bearer ${entraToken.slice(0, -4)}AAAA` } });
      await expect.poll(() => lines.length).toBe(3);
      expect(lines[0]).toMatch(new RegExp(` agent ${oid} GET /api/v1/namespaces\\?watch=True 200 \\d+ms\\n$`));
      expect(lines[1]).toMatch(/ agent \(passthrough\) GET \/api\/v1\/pods 200 \d+ms\n$/);
      expect(lines[2]).toMatch(/ agent - GET \/api\/v1\/pods 401 \d+ms\n$/);
      const all = lines.join('');
      expect(all).not.toContain(entraToken.split('.')[1]!);
      expect(all).not.toContain('some-service-account-token');
    } finally {
      await front.close();
      await agent.stop();
      await api.close();
    }
  });
});
