import { describe, expect, it } from 'vitest';
import { ArcproxyError, ExitCode } from '../../../src/errors.js';
import { redactSecrets, statusBody, tunnelFailureMessage } from '../../../src/proxy/status.js';

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
    const msg = tunnelFailureMessage(new ArcproxyError('ARCPROXY_RELAY_NO_LISTENER', 'Endpoint does not exist', ExitCode.clusterOffline));
    expect(msg).toContain('not connected to Azure Relay (no listener online)');
    expect(msg).toContain('kubectl -n azure-arc get pods');
  });

  it('names the code and message of other failures, without secrets', () => {
    const err = new ArcproxyError('ARCPROXY_RELAY_UNAUTHORIZED', 'relay said 401 for sb-hc-token=abc.def&x=1 SharedAccessSignature sr=a&sig=zzz', ExitCode.serviceUnavailable);
    const msg = tunnelFailureMessage(err);
    expect(msg.startsWith('arcproxy: the tunnel to the cluster failed (ARCPROXY_RELAY_UNAUTHORIZED): relay said 401')).toBe(true);
    expect(msg).not.toContain('abc.def');
    expect(msg).not.toContain('zzz');
  });

  it('gives plain errors a code too', () => {
    expect(tunnelFailureMessage(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }))).toBe(
      'arcproxy: the tunnel to the cluster failed (ECONNRESET): socket hang up',
    );
    expect(tunnelFailureMessage('weird')).toBe('arcproxy: the tunnel to the cluster failed (ARCPROXY_TUNNEL_FAILED): weird');
  });
});

describe('redactSecrets', () => {
  it('removes bearer tokens and SAS signatures', () => {
    expect(redactSecrets('Authorization: Bearer eyJ.abc.def and sig=xyz&se=1')).toBe('Authorization: Bearer [redacted] and sig=[redacted]&se=1');
  });
});
