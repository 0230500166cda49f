/** What people and scripts see: az's status lines for people, one JSON event per line for scripts. */
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { HumanReporter, JsonReporter } from '../../../src/cli/reporter.js';

function sink(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (c: Buffer) => (text += c.toString()));
  return { stream, text: () => text };
}

const READY = { port: 47011, context: 'demo', kubeconfig: '/home/me/.kube/config', server: 'https://127.0.0.1:47011/proxies/ab', mode: 'foreground' as const };

describe('HumanReporter', () => {
  it('prints the lines az connectedk8s proxy prints, in its words (GUI wrappers wait for them)', () => {
    const out = sink();
    const err = sink();
    const r = new HumanReporter(out.stream, err.stream, false);
    r.listening(47011);
    r.merged('demo', '/home/me/.kube/config');
    r.ready(READY);
    expect(out.text()).toBe(
      'Proxy is listening on port 47011\n' +
        'Merged "demo" as current context in /home/me/.kube/config\n' +
        "Start sending kubectl requests on 'demo' context using kubeconfig at /home/me/.kube/config\n" +
        'Press Ctrl+C to close proxy.\n',
    );
    expect(err.text()).toBe('');
  });

  it('says nothing to press in run mode, where the command starts at once', () => {
    const out = sink();
    new HumanReporter(out.stream, sink().stream, false).ready({ ...READY, mode: 'run' });
    expect(out.text()).toBe('');
  });

  it('keeps events quiet unless --debug, but always shows warnings, tunnel changes and refusals on stderr', () => {
    const quiet = sink();
    const r = new HumanReporter(sink().stream, quiet.stream, false);
    r.event('tokenRefreshed', { expiresOn: 'x' });
    expect(quiet.text()).toBe('');
    r.warn('sending plain bearer tokens');
    r.tunnel({ ok: false, code: 'ARCPROXY_RELAY_NO_LISTENER', message: 'arcproxy: no listener online' });
    r.tunnel({ ok: true });
    r.clusterCheck({ status: 401, message: 'Unauthorized' });
    expect(quiet.text()).toBe(
      'arcproxy: warning: sending plain bearer tokens\n' +
        'arcproxy: no listener online\n' +
        'arcproxy: the tunnel to the cluster works again.\n' +
        'arcproxy: warning: the cluster answered 401 to a test request: Unauthorized\n',
    );
  });

  it('logs a request under --debug with its query, HTTP version and request id', () => {
    const err = sink();
    new HumanReporter(sink().stream, err.stream, true).request({
      method: 'GET',
      path: '/api/v1/pods?watch=true',
      status: 200,
      durationMs: 3.14159,
      bytesIn: 0,
      bytesOut: 512,
      upgrade: false,
      httpVersion: '2.0',
      requestId: 'r-1',
    });
    expect(err.text()).toBe('GET /api/v1/pods?watch=true 200 3.1ms in=0 out=512 HTTP/2.0 id=r-1\n');
  });
});

describe('JsonReporter', () => {
  it('writes one parseable event per line with a time, and the error as the last event', () => {
    const out = sink();
    const r = new JsonReporter(out.stream, sink().stream, false);
    r.listening(40113);
    r.warn('bearer');
    r.ready(READY);
    r.error({ code: 'ARCPROXY_PORT_IN_USE', message: 'busy', exitCode: 7 });
    const events = out
      .text()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(events.map((e) => e.event)).toEqual(['listening', 'warning', 'ready', 'error']);
    for (const e of events) expect(Number.isNaN(Date.parse(String(e.time)))).toBe(false);
    expect(events[2]).toMatchObject({ port: 47011, context: 'demo', mode: 'foreground', pid: process.pid });
    expect(events[3]).toMatchObject({ code: 'ARCPROXY_PORT_IN_USE', exitCode: 7 });
  });

  it('leaves requests out unless --debug', () => {
    const out = sink();
    new JsonReporter(out.stream, sink().stream, false).request({
      method: 'GET',
      path: '/',
      status: 200,
      durationMs: 1,
      bytesIn: 0,
      bytesOut: 0,
      upgrade: false,
    });
    expect(out.text()).toBe('');
  });
});
