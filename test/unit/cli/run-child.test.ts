/**
 * runChild with real child processes (node -e scripts). Its stdio is inherited, so a child that
 * has something to tell the test says it over a TCP connection to the test instead.
 */
import { EventEmitter, once } from 'node:events';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { COMMAND_NOT_STARTED, forwardsSignal, notStartedMessage, runChild } from '../../../src/cli/run-child.js';
import { SignalWatch } from '../../../src/cli/signals.js';
import type { CliIo } from '../../../src/cli/io.js';

const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

/** A CliIo whose signals come from an EventEmitter and whose stderr is kept as text. */
function testIo(env: NodeJS.ProcessEnv = {}) {
  const signals = new EventEmitter();
  const err = { text: '' };
  const sink = (into?: { text: string }) =>
    new Writable({
      write(chunk: Buffer, _enc, cb) {
        if (into) into.text += chunk.toString();
        cb();
      },
    });
  const io: CliIo = { stdout: sink(), stderr: sink(err), env, homeDir: '/nonexistent', stdinIsTty: false, stderrIsTty: false, signals };
  const watch = new SignalWatch(signals);
  cleanups.push(() => watch.dispose());
  return { io, signals, watch, stderr: err };
}

const node = (script: string, ...args: string[]) => [process.execPath, '-e', script, ...args];

/** A server the child connects back to; `nextLine()` resolves with the next line it sends. */
async function backChannel() {
  const server: Server = createServer();
  const lines: string[] = [];
  const arrived = new EventEmitter();
  let socket: Socket | undefined;
  server.on('connection', (s: Socket) => {
    socket = s;
    let buf = '';
    s.setEncoding('utf8');
    s.on('data', (chunk: string) => {
      buf += chunk;
      for (let i = buf.indexOf('\n'); i !== -1; i = buf.indexOf('\n')) {
        lines.push(buf.slice(0, i));
        buf = buf.slice(i + 1);
        arrived.emit('line');
      }
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  // Closing the connection also ends a child the test is done with (it exits when it closes).
  cleanups.push(() => {
    socket?.destroy();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  let read = 0;
  const nextLine = async (): Promise<string> => {
    while (lines.length <= read) await once(arrived, 'line');
    return lines[read++]!;
  };
  return { port: String((server.address() as AddressInfo).port), nextLine };
}

/** runChild's result, or 'still running' when the child has not exited within 5 s. */
async function within5s(p: Promise<number>): Promise<number | 'still running'> {
  let deadline: NodeJS.Timeout | undefined;
  const outcome = await Promise.race([p, new Promise<'still running'>((resolve) => (deadline = setTimeout(() => resolve('still running'), 5_000)))]);
  clearTimeout(deadline);
  return outcome;
}

describe('runChild', () => {
  it('passes the exit code through', async () => {
    const { io, watch } = testIo();
    expect(await runChild(node('process.exit(0)'), '/tmp/kc', io, watch)).toBe(0);
    expect(await runChild(node('process.exit(3)'), '/tmp/kc', io, watch)).toBe(3);
    expect(await runChild(node('process.exitCode = 77'), '/tmp/kc', io, watch)).toBe(77);
  });

  it('gives 128 + N for a child that signal N ended', async () => {
    const { io, watch } = testIo();
    expect(await runChild(node("process.kill(process.pid, 'SIGKILL')"), '/tmp/kc', io, watch)).toBe(128 + 9);
    expect(await runChild(node("process.kill(process.pid, 'SIGTERM')"), '/tmp/kc', io, watch)).toBe(128 + 15);
  });

  it('gives 127 and names the command on stderr when it cannot be started', async () => {
    const { io, watch, stderr } = testIo({ PATH: '/nonexistent' });
    expect(await runChild(['arcproxy-test-no-such-command', '--flag'], '/tmp/kc', io, watch)).toBe(COMMAND_NOT_STARTED);
    expect(COMMAND_NOT_STARTED).toBe(127);
    expect(stderr.text).toMatch(/^arcproxy: cannot run arcproxy-test-no-such-command: .*ENOENT/);
  });

  it('forwards a stop signal to the child, which runs with KUBECONFIG set to the given path', async () => {
    const back = await backChannel();
    // Traps SIGTERM, then tells the test it is ready and what it was given; exits 42 on SIGTERM.
    const script = `
      const sock = require('node:net').connect(Number(process.argv[1]), '127.0.0.1', () => {
        process.on('SIGTERM', () => sock.end('got SIGTERM\\n', () => process.exit(42)));
        sock.write(JSON.stringify({ kubeconfig: process.env.KUBECONFIG, kept: process.env.ARCPROXY_TEST_KEPT }) + '\\n');
      });
      sock.on('close', () => process.exit(3));
    `;
    const { io, signals, watch } = testIo({ ARCPROXY_TEST_KEPT: 'yes', KUBECONFIG: '/the/users/own/kubeconfig' });
    const exited = runChild(node(script, back.port), '/tmp/arcproxy-session/kubeconfig', io, watch);
    expect(JSON.parse(await back.nextLine())).toEqual({ kubeconfig: '/tmp/arcproxy-session/kubeconfig', kept: 'yes' });

    signals.emit('SIGTERM');
    expect(await within5s(exited)).toBe(42);
    expect(await back.nextLine()).toBe('got SIGTERM');
    expect(watch.received).toBe('SIGTERM');
  });
});

describe('run mode on Windows and refused commands', () => {
  it('forwards every stop signal on POSIX, all but Ctrl+C on Windows (the console has delivered it)', () => {
    for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) expect(forwardsSignal(sig, 'linux')).toBe(true);
    expect(forwardsSignal('SIGINT', 'win32')).toBe(false);
    expect(forwardsSignal('SIGTERM', 'win32')).toBe(true);
    expect(forwardsSignal('SIGHUP', 'win32')).toBe(true);
  });

  it('says how to start a .cmd or .bat script on Windows only', () => {
    const err = new Error('spawn az ENOENT');
    expect(notStartedMessage('az', err, 'win32')).toBe(
      'arcproxy: cannot run az: spawn az ENOENT (a .cmd or .bat script runs through cmd: `-- cmd /c NAME ...`)\n',
    );
    expect(notStartedMessage('az', err, 'linux')).toBe('arcproxy: cannot run az: spawn az ENOENT\n');
  });

  it('reports a command spawn() refuses outright (throws instead of emitting) as not started, 127', async () => {
    const { io, watch, stderr } = testIo();
    const code = await runChild(['bad\0name'], '/nonexistent/kubeconfig', io, watch);
    expect(code).toBe(COMMAND_NOT_STARTED);
    expect(stderr.text).toMatch(/^arcproxy: cannot run bad\0name: /);
  });
});
