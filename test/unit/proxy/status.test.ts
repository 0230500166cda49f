import { createSecureServer, Http2ServerResponse } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ArcproxyError } from '../../../src/errors/index.js';
import { redactSecrets } from '../../../src/errors/index.js';
import { sendStatus, statusBody } from '../../../src/proxy/status.js';
import { tunnelFailureMessage } from '../../../src/tunnel/failure-message.js';
import { get, h2connect, h2request, sharedPki } from './helpers.js';

afterEach(() => {
  vi.restoreAllMocks();
});

describe('statusBody', () => {
  it('is a Kubernetes Status object', () => {
    expect(JSON.parse(statusBody(503, 'ServiceUnavailable', 'down'))).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'down',
      reason: 'ServiceUnavailable',
      code: 503,
    });
  });
});

describe('tunnelFailureMessage', () => {
  it('tells the user to check the agents when no listener is online', () => {
    const msg = tunnelFailureMessage(new ArcproxyError('ARCPROXY_RELAY_NO_LISTENER', 'Endpoint does not exist'));
    expect(msg).toContain('not connected to Azure Relay (no listener online)');
    expect(msg).toContain('kubectl -n azure-arc get pods');
  });

  it('names the code and message of other failures, without secrets', () => {
    const err = new ArcproxyError('ARCPROXY_RELAY_UNAUTHORIZED', 'relay said 401 for sb-hc-token=abc.def&x=1 SharedAccessSignature sr=a&sig=zzz');
    const msg = tunnelFailureMessage(err);
    expect(msg.startsWith('arcproxy: the tunnel to the cluster failed (ARCPROXY_RELAY_UNAUTHORIZED): relay said 401')).toBe(true);
    expect(msg).not.toContain('abc.def');
    expect(msg).not.toContain('zzz');
  });

  it('gives plain errors a code too', () => {
    expect(tunnelFailureMessage(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }))).toBe(
      'arcproxy: the tunnel to the cluster failed (ARCPROXY_TUNNEL_FAILED): socket hang up',
    );
    expect(tunnelFailureMessage('weird')).toBe('arcproxy: the tunnel to the cluster failed (ARCPROXY_TUNNEL_FAILED): weird');
  });
});

describe('redactSecrets', () => {
  it('removes bearer tokens and SAS signatures', () => {
    expect(redactSecrets('Authorization: Bearer eyJ.abc.def and sig=xyz&se=1')).toBe('Authorization: Bearer [redacted] and sig=[redacted]&se=1');
  });
});

describe('sendStatus', () => {
  it('answers over HTTP/1.1 and HTTP/2 alike; only HTTP/1.1 is told to close the connection', async () => {
    const pki = await sharedPki();
    const writeHead = vi.spyOn(Http2ServerResponse.prototype, 'writeHead');
    const server = createSecureServer({ allowHTTP1: true, cert: pki.server.cert, key: pki.server.key }, (_req, res) => {
      sendStatus(res, 503, 'ServiceUnavailable', 'going away', true);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    try {
      const h1 = await get(pki, port, '/x');
      expect(h1.status).toBe(503);
      expect(h1.headers.connection).toBe('close');
      expect(JSON.parse(h1.body)).toMatchObject({ kind: 'Status', code: 503, message: 'going away' });

      const session = await h2connect(pki, port);
      try {
        const h2 = await h2request(session, '/x');
        expect(h2.status).toBe(503);
        expect(h2.headers['content-type']).toBe('application/json');
        expect(JSON.parse(h2.body)).toMatchObject({ kind: 'Status', code: 503, message: 'going away' });
      } finally {
        session.destroy();
      }
      // Node would drop a Connection header from an HTTP/2 response, with a warning.
      expect(writeHead).toHaveBeenCalledTimes(1);
      expect(Object.keys(writeHead.mock.calls[0]![1] as unknown as object).map((k) => k.toLowerCase())).not.toContain('connection');
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
