/** exec / attach / portforward upgrades: checks before the streaming handlers, and what they get. */
import type { Duplex } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExecRequest, PortForwardRequest, StreamingHandlers } from '../../../../src/emulator/apiserver/types.js';
import { rawUpgrade, startHarness, type Harness } from './harness.js';

let h: Harness;
let bare: Harness;
const seen: { exec?: ExecRequest; portForward?: PortForwardRequest } = {};

/** Handlers that record the request and answer 101 so the test sees the hand-over happen. */
const recording: StreamingHandlers = {
  exec(_req, socket: Duplex, _head, exec) {
    seen.exec = exec;
    socket.end('HTTP/1.1 101 Switching Protocols\r\n\r\n');
  },
  portForward(_req, socket: Duplex, _head, request) {
    seen.portForward = request;
    socket.end('HTTP/1.1 101 Switching Protocols\r\n\r\n');
  },
};

beforeAll(async () => {
  h = await startHarness({ streaming: recording });
  bare = await startHarness();
});
afterAll(async () => {
  await h?.server.close();
  await bare?.server.close();
});

const ws = (token: string) => ({
  Authorization: `Bearer ${token}`,
  Upgrade: 'websocket',
  'Sec-WebSocket-Version': '13',
  'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
  'Sec-WebSocket-Protocol': 'v5.channel.k8s.io',
});
const statusOf = (raw: string) => Number(/^HTTP\/1\.1 (\d{3})/.exec(raw)?.[1]);
const bodyOf = (raw: string) => JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4));

describe('upgrades', () => {
  it('hands exec to the streaming handler with the parsed query and the pod runtime', async () => {
    const raw = await rawUpgrade(
      h,
      '/api/v1/namespaces/default/pods/hello-0/exec?command=sh&command=-c&command=echo%20hi&container=hello&stdin=true&stdout=true&tty=true',
      ws(h.admin),
    );
    expect(statusOf(raw)).toBe(101);
    const exec = seen.exec!;
    expect(exec).toMatchObject({ container: 'hello', command: ['sh', '-c', 'echo hi'], stdin: true, stdout: true, stderr: false, tty: true });
    expect(exec.pod).toMatchObject({ namespace: 'default', name: 'hello-0', containers: ['hello'] });
    expect(exec.pod.env).toMatchObject({ HOSTNAME: 'hello-0', KUBERNETES_SERVICE_HOST: expect.any(String) });
  });

  it('hands SPDY port-forward to the streaming handler with the ports', async () => {
    const raw = await rawUpgrade(
      h,
      '/api/v1/namespaces/default/pods/hello-1/portforward?ports=8080&ports=9090',
      { Authorization: `Bearer ${h.admin}`, Upgrade: 'SPDY/3.1', 'X-Stream-Protocol-Version': 'portforward.k8s.io' },
      'POST',
    );
    expect(statusOf(raw)).toBe(101);
    expect(seen.portForward!.ports).toEqual([8080, 9090]);
    expect(seen.portForward!.pod.name).toBe('hello-1');
  });

  it('writes the Forbidden Status when the binding does not allow create on the subresource', async () => {
    const raw = await rawUpgrade(h, '/api/v1/namespaces/default/pods/hello-0/exec?command=ls', ws(h.viewer));
    expect(statusOf(raw)).toBe(403);
    expect(bodyOf(raw)).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message:
        'pods "hello-0" is forbidden: User "system:serviceaccount:default:demo-viewer" cannot create resource "pods/exec" in API group "" in the namespace "default"',
      reason: 'Forbidden',
      details: { name: 'hello-0', kind: 'pods' },
      code: 403,
    });
  });

  it('writes 401, 404 and 400 Statuses for bad tokens, missing pods and unknown containers', async () => {
    expect(statusOf(await rawUpgrade(h, '/api/v1/namespaces/default/pods/hello-0/exec?command=ls', ws('bad-token')))).toBe(401);
    const missing = await rawUpgrade(h, '/api/v1/namespaces/default/pods/ghost/exec?command=ls', ws(h.admin));
    expect(statusOf(missing)).toBe(404);
    expect(bodyOf(missing).message).toBe('pods "ghost" not found');
    const container = await rawUpgrade(h, '/api/v1/namespaces/default/pods/hello-0/exec?command=ls&container=nope', ws(h.admin));
    expect(statusOf(container)).toBe(400);
    expect(statusOf(await rawUpgrade(h, '/api/v1/namespaces/default/pods/hello-0/log', ws(h.admin)))).toBe(404);
  });

  it('answers 501 without streaming handlers', async () => {
    const raw = await rawUpgrade(bare, '/api/v1/namespaces/default/pods/hello-0/attach?stdout=true', ws(bare.admin));
    expect(statusOf(raw)).toBe(501);
    expect(bodyOf(raw)).toMatchObject({ kind: 'Status', reason: 'NotImplemented', code: 501 });
  });
});
