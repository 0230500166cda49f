import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { TunnelHealth, type TunnelState } from '../../../src/tunnel/tunnel-health.js';
import { ArcproxyError, type ErrorCode } from '../../../src/errors/index.js';

describe('tunnel health reporting', () => {
  it('reports a broken tunnel once per cause, and its recovery once', async () => {
    let fail: ErrorCode | undefined = 'ARCPROXY_RELAY_NO_LISTENER';
    const states: TunnelState[] = [];
    const health = new TunnelHealth(
      {
        dial: async () => {
          if (fail) throw new ArcproxyError(fail, 'relay said no');
          return new PassThrough();
        },
      },
      (s) => states.push(s),
    );
    for (let i = 0; i < 3; i++) await expect(health.dial()).rejects.toThrow('relay said no');
    fail = 'ARCPROXY_RELAY_TIMEOUT';
    await expect(health.dial()).rejects.toThrow();
    fail = undefined;
    await health.dial();
    await health.dial();
    expect(states.map((s) => (s.ok ? 'up' : s.code))).toEqual(['ARCPROXY_RELAY_NO_LISTENER', 'ARCPROXY_RELAY_TIMEOUT', 'up']);
    expect(states[0]).toMatchObject({ ok: false, message: expect.stringContaining('agent is not connected to Azure Relay') });
  });
});
