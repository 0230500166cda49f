import { EventEmitter, once } from 'node:events';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { createStreamingHandlers } from '../../../../../src/emulator/apiserver/streaming/index.js';
import type { CommandResult } from '../../../../../src/emulator/apiserver/streaming/commands.js';
import type { ExecRequest } from '../../../../../src/emulator/apiserver/types.js';
import { fakePod, rawUpgrade, SpdyTestClient, startUpgradeServer, type TestServer } from './helpers.js';

let server: TestServer;
let current: Omit<ExecRequest, 'pod'>;
const cleanups: (() => void)[] = [];
/** Emits 'end' with each exec'd command's result; one per test, so a late end from the last test is not seen. */
let commands: EventEmitter;

beforeEach(async () => {
  const ends = (commands = new EventEmitter());
  const handlers = createStreamingHandlers({ onCommandEnd: (_command, result) => ends.emit('end', result) });
  server = await startUpgradeServer((req, socket, head) => handlers.exec(req, socket, head, { ...current, pod: fakePod() }));
});
afterEach(async () => {
  for (const c of cleanups.splice(0)) c();
  await server.close();
});

function setExec(command: string[], flags: Partial<Omit<ExecRequest, 'pod' | 'command'>> = {}): void {
  current = { container: 'hello', command, stdin: false, stdout: true, stderr: true, tty: false, ...flags };
}

interface WsResult {
  protocol: string;
  channels: Map<number, Buffer>;
}

async function wsExec(protocols: string[], onOpen?: (ws: WebSocket) => void): Promise<WsResult> {
  const ws = new WebSocket(`wss://127.0.0.1:${server.port}/api/v1/namespaces/default/pods/hello-0/exec`, protocols, { ca: server.ca });
  cleanups.push(() => ws.terminate());
  const channels = new Map<number, Buffer>();
  ws.on('message', (data: Buffer) => {
    const ch = data[0]!;
    channels.set(ch, Buffer.concat([channels.get(ch) ?? Buffer.alloc(0), data.subarray(1)]));
  });
  await once(ws, 'open');
  onOpen?.(ws);
  const [code] = (await once(ws, 'close')) as [number];
  expect(code).toBe(1000);
  return { protocol: ws.protocol, channels };
}

const status = (r: WsResult) => JSON.parse(r.channels.get(3)!.toString()) as Record<string, unknown>;

/**
 * The next command's result, or 'still running' if none ends within 5 s. `sleep 30` ended by the
 * client going away ends with 137 (killed); left running it would show as 'still running'.
 */
async function nextCommandEnd(): Promise<CommandResult | 'still running'> {
  let deadline: NodeJS.Timeout | undefined;
  const result = await Promise.race([
    once(commands, 'end').then(([r]) => r as CommandResult),
    new Promise<'still running'>((resolve) => (deadline = setTimeout(() => resolve('still running'), 5_000))),
  ]);
  clearTimeout(deadline);
  return result;
}

describe('exec over WebSocket', () => {
  it('runs echo on v5 and reports Success', async () => {
    setExec(['echo', 'hello']);
    const r = await wsExec(['v5.channel.k8s.io', 'v4.channel.k8s.io']);
    expect(r.protocol).toBe('v5.channel.k8s.io');
    expect(r.channels.get(1)?.toString()).toBe('hello\n');
    expect(status(r)).toEqual({ metadata: {}, status: 'Success' });
  });

  it('speaks v4 to clients that only offer v4', async () => {
    setExec(['hostname']);
    const r = await wsExec(['v4.channel.k8s.io']);
    expect(r.protocol).toBe('v4.channel.k8s.io');
    expect(r.channels.get(1)?.toString()).toBe('hello-0\n');
  });

  it('feeds stdin to cat until the v5 close message', async () => {
    setExec(['cat'], { stdin: true });
    const r = await wsExec(['v5.channel.k8s.io'], (ws) => {
      ws.send(Buffer.concat([Buffer.of(0), Buffer.from('first ')]));
      ws.send(Buffer.concat([Buffer.of(0), Buffer.from('second')]));
      ws.send(Buffer.of(255, 0));
    });
    expect(r.channels.get(1)?.toString()).toBe('first second');
    expect(status(r).status).toBe('Success');
  });

  it('reports a non-zero exit code the way kubelet does', async () => {
    setExec(['sh', '-c', 'exit 3']);
    const r = await wsExec(['v5.channel.k8s.io']);
    expect(status(r)).toEqual({
      metadata: {},
      status: 'Failure',
      message: 'command terminated with non-zero exit code: error executing command [sh -c exit 3], exit code 3',
      reason: 'NonZeroExitCode',
      details: { causes: [{ reason: 'ExitCode', message: '3' }] },
    });
  });

  it('reports an unknown executable as an internal error and writes stderr on channel 2 for sh', async () => {
    setExec(['nosuch']);
    const r = await wsExec(['v5.channel.k8s.io']);
    expect(status(r)).toMatchObject({ status: 'Failure', reason: 'InternalError', code: 500 });
    expect(String(status(r).message)).toContain('executable file not found in $PATH');
    setExec(['sh', '-c', 'nosuch']);
    const r2 = await wsExec(['v5.channel.k8s.io']);
    expect(r2.channels.get(2)?.toString()).toBe('sh: 1: nosuch: not found\n');
  });

  it('stops a running command when the client disconnects', async () => {
    setExec(['sleep', '30']);
    const ws = new WebSocket(`wss://127.0.0.1:${server.port}/api/v1/namespaces/default/pods/hello-0/exec`, ['v5.channel.k8s.io'], { ca: server.ca });
    cleanups.push(() => ws.terminate());
    // The server starts the command as it accepts the upgrade, before the client sees it open.
    await once(ws, 'open');
    const ended = nextCommandEnd();
    ws.terminate();
    expect(await ended).toEqual({ kind: 'exit', code: 137 });
  });

  it('refuses clients without a channel protocol', async () => {
    setExec(['echo']);
    const ws = new WebSocket(`wss://127.0.0.1:${server.port}/x`, ['base64.channel.k8s.io'], { ca: server.ca });
    ws.on('error', () => undefined); // the refused handshake also surfaces as an error
    cleanups.push(() => ws.terminate());
    const [, res] = (await once(ws, 'unexpected-response')) as [unknown, { statusCode: number }];
    expect(res.statusCode).toBe(400);
  });
});

async function spdyExec(protocols: string, extra: string[] = []) {
  const up = await rawUpgrade(server.port, server.ca, [
    'POST /api/v1/namespaces/default/pods/hello-0/exec HTTP/1.1',
    'Host: 127.0.0.1',
    'Connection: Upgrade',
    'Upgrade: SPDY/3.1',
    `X-Stream-Protocol-Version: ${protocols}`,
    ...extra,
  ]);
  if (up.status !== 101) return { up, client: undefined };
  const client = new SpdyTestClient(up.socket, up.rest);
  cleanups.push(() => client.destroy());
  return { up, client };
}

describe('exec over SPDY/3.1', () => {
  it('negotiates v4 and waits for every expected stream before running', async () => {
    setExec(['cat'], { stdin: true });
    const { up, client } = await spdyExec('v5.channel.k8s.io, v4.channel.k8s.io, v3.channel.k8s.io');
    expect(up.status).toBe(101);
    expect(up.headers['x-stream-protocol-version']).toBe('v4.channel.k8s.io');
    expect(up.headers.upgrade).toBe('SPDY/3.1');
    const c = client!;
    const error = c.open({ streamtype: 'error' });
    const stdin = c.open({ streamtype: 'stdin' });
    c.write(stdin, 'early bytes ');
    const stdout = c.open({ streamtype: 'stdout' });
    await c.until(() => stdout.replied, 'stdout reply');
    // stderr not yet open: the command must not have run, so no status yet.
    expect(error.data).toHaveLength(0);
    const stderr = c.open({ streamtype: 'stderr' });
    c.write(stdin, 'and more', true);
    await c.until(() => error.fin && stdout.fin && stderr.fin, 'all streams finished');
    expect(c.text(stdout)).toBe('early bytes and more');
    expect(JSON.parse(c.text(error))).toEqual({ metadata: {}, status: 'Success' });
    await c.until(() => c.frames.some((f) => f.type === 'goaway'), 'GOAWAY');
  });

  it('writes the exit code status on the error stream', async () => {
    setExec(['exit', '7'], { stdout: true, stderr: false });
    const { client } = await spdyExec('v4.channel.k8s.io');
    const c = client!;
    const error = c.open({ streamtype: 'error' });
    c.open({ streamtype: 'stdout' });
    await c.until(() => error.fin, 'error stream FIN');
    expect(JSON.parse(c.text(error))).toMatchObject({ reason: 'NonZeroExitCode', details: { causes: [{ reason: 'ExitCode', message: '7' }] } });
  });

  it('with a TTY expects a resize stream instead of stderr', async () => {
    setExec(['sh', '-c', 'nosuch'], { tty: true, stderr: true });
    const { client } = await spdyExec('v4.channel.k8s.io');
    const c = client!;
    const error = c.open({ streamtype: 'error' });
    const stdout = c.open({ streamtype: 'stdout' });
    const resize = c.open({ streamtype: 'resize' });
    c.write(resize, JSON.stringify({ Width: 80, Height: 24 }));
    await c.until(() => error.fin && stdout.fin, 'streams finished');
    // stderr shares the terminal
    expect(c.text(stdout)).toBe('sh: 1: nosuch: not found\n');
    expect(JSON.parse(c.text(error))).toMatchObject({ details: { causes: [{ message: '127' }] } });
  });

  it('answers pings on the session', async () => {
    setExec(['sleep', '30']);
    const { client } = await spdyExec('v4.channel.k8s.io');
    const c = client!;
    c.send({ type: 'ping', id: 1 });
    await c.until(() => c.frames.some((f) => f.type === 'ping' && f.id === 1), 'PING echo');
  });

  it('stops a running command when the client disconnects', async () => {
    setExec(['sleep', '30'], { stdout: true, stderr: false });
    const { client } = await spdyExec('v4.channel.k8s.io');
    const c = client!;
    const stdout = c.open({ streamtype: 'stdout' });
    const error = c.open({ streamtype: 'error' });
    // The last expected stream's reply goes out as the command starts.
    await c.until(() => stdout.replied && error.replied, 'replies');
    const ended = nextCommandEnd();
    c.destroy();
    expect(await ended).toEqual({ kind: 'exit', code: 137 });
    // The handler must not leak: the server closes cleanly with no sockets left.
    await server.close();
    server = await startUpgradeServer(() => undefined);
  });

  it('answers a malformed frame with GOAWAY(PROTOCOL_ERROR) and hangs up', async () => {
    setExec(['echo']);
    const { client } = await spdyExec('v4.channel.k8s.io');
    const c = client!;
    c.send({ type: 'unknown', controlType: 1, flags: 0, payload: Buffer.from([0, 0, 0, 1]) }); // SYN_STREAM too short
    await c.until(() => c.frames.some((f) => f.type === 'goaway' && f.status === 1), 'GOAWAY');
    await c.until(() => c.closed, 'close').catch(() => undefined);
    expect(c.closed).toBe(true);
  });

  it('refuses a client that offers no supported protocol', async () => {
    setExec(['echo']);
    const { up } = await spdyExec('v2.channel.k8s.io');
    expect(up.status).toBe(403);
    up.socket.destroy();
  });
});
