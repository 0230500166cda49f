/**
 * kubectl exec: remotecommand over WebSocket (v5/v4.channel.k8s.io, kubectl 1.30+) or over
 * SPDY/3.1 (v4.channel.k8s.io, older kubectl or KUBECTL_REMOTE_COMMAND_WEBSOCKETS=false). Both
 * run the same built-in command and finish with a metav1.Status on the error channel.
 */
import type { IncomingMessage } from 'node:http';
import { PassThrough, Readable, Writable, type Duplex } from 'node:stream';
import type { WebSocket } from 'ws';
import type { ExecRequest } from '../types.js';
import { runCommand, type CommandResult } from './commands.js';
import { SpdySession, type SpdyStream } from './spdy/session.js';
import { exitCodeStatus, internalErrorStatus, successStatus, type ExecStatus } from './status.js';
import {
  acceptSpdy,
  acceptWebSocket,
  isSpdyUpgrade,
  isWebSocketUpgrade,
  negotiateStreamProtocol,
  negotiateWebSocketProtocol,
  offeredStreamProtocols,
  offeredWebSocketProtocols,
  rejectUpgrade,
} from './upgrade.js';

/** WebSocket subprotocols, preferred first. v5 adds the client's "close stdin" message. */
const EXEC_WS_PROTOCOLS = ['v5.channel.k8s.io', 'v4.channel.k8s.io'] as const;
/** SPDY: kubelet speaks v4 (v5's close message only exists for WebSocket). */
const EXEC_SPDY_PROTOCOLS = ['v4.channel.k8s.io'] as const;
/** How long the SPDY client gets to open every stream the query asked for (kubelet: 30s). */
const STREAM_CREATION_TIMEOUT_MS = 30_000;

const Channel = { STDIN: 0, STDOUT: 1, STDERR: 2, ERROR: 3, RESIZE: 4, CLOSE: 255 } as const;

/** Told when an exec'd command has ended, however it ended (createStreamingHandlers' onCommandEnd). */
type OnCommandEnd = (command: readonly string[], result: CommandResult) => void;

export function handleExec(req: IncomingMessage, socket: Duplex, head: Buffer, exec: ExecRequest, onEnd?: OnCommandEnd): void {
  socket.on('error', () => socket.destroy());
  if (isWebSocketUpgrade(req)) {
    const protocol = negotiateWebSocketProtocol(req, EXEC_WS_PROTOCOLS);
    if (!protocol) {
      rejectUpgrade(
        socket,
        400,
        'Bad Request',
        `unable to negotiate protocol: client supports ${JSON.stringify(offeredWebSocketProtocols(req))}, server supports ${JSON.stringify(EXEC_WS_PROTOCOLS)}`,
      );
      return;
    }
    const ws = acceptWebSocket(req, socket, head, protocol);
    if (ws) execOverWebSocket(ws, protocol, exec, onEnd);
    return;
  }
  if (isSpdyUpgrade(req)) {
    const protocol = negotiateStreamProtocol(req, EXEC_SPDY_PROTOCOLS);
    if (!protocol) {
      rejectUpgrade(
        socket,
        403,
        'Forbidden',
        `unable to upgrade: unable to negotiate protocol: client supports ${JSON.stringify(offeredStreamProtocols(req))}, server supports ${JSON.stringify(EXEC_SPDY_PROTOCOLS)}`,
      );
      return;
    }
    acceptSpdy(socket, protocol);
    execOverSpdy(socket, head, exec, onEnd);
    return;
  }
  rejectUpgrade(socket, 400, 'Bad Request', 'exec needs an Upgrade to websocket or SPDY/3.1');
}

function statusFor(exec: ExecRequest, result: CommandResult): ExecStatus {
  if (result.kind === 'error') return internalErrorStatus(result.message);
  return result.code === 0 ? successStatus() : exitCodeStatus(exec.command, result.code);
}

/** Output nobody asked for (the query's stdout/stderr=false) goes nowhere. */
function discard(): Writable {
  return new Writable({ write: (_c, _e, cb) => cb() });
}

/** A stream with nothing in it, for commands run without stdin. */
function emptyInput(): Readable {
  return Readable.from([]);
}

/** Ends the writers and resolves once everything written has been handed to the transport. */
function finished(writers: Writable[]): Promise<void> {
  return Promise.all(
    [...new Set(writers)].map(
      (w) =>
        new Promise<void>((resolve) => {
          if (w.writableFinished || w.destroyed) return resolve();
          w.once('finish', resolve)
            .once('close', resolve)
            .once('error', () => resolve());
          if (!w.writableEnded) w.end();
        }),
    ),
  ).then(() => undefined);
}

// ---------------------------------------------------------------- WebSocket

/** Writes into one channel: each chunk becomes [channel]+data; the callback waits for the socket. */
function channelWriter(ws: WebSocket, channel: number): Writable {
  return new Writable({
    write(chunk: Buffer, _enc, cb) {
      if (ws.readyState !== ws.OPEN) return cb(); // client gone: output is dropped
      ws.send(Buffer.concat([Buffer.of(channel), chunk]), { binary: true }, () => cb());
    },
  });
}

function execOverWebSocket(ws: WebSocket, protocol: string, exec: ExecRequest, onEnd: OnCommandEnd | undefined): void {
  const abort = new AbortController();
  const stdin = new PassThrough();
  if (!exec.stdin) stdin.end();

  ws.on('message', (data: Buffer, isBinary: boolean) => {
    if (!isBinary || data.length === 0) return;
    const channel = data[0];
    const payload = data.subarray(1);
    if (channel === Channel.STDIN && exec.stdin && !stdin.writableEnded) {
      // Backpressure: stop reading the socket until the command takes the data.
      if (!stdin.write(payload)) {
        ws.pause();
        stdin.once('drain', () => ws.resume());
      }
    } else if (channel === Channel.CLOSE && protocol === 'v5.channel.k8s.io' && payload[0] === Channel.STDIN) {
      stdin.end();
    }
    // Channel.RESIZE: terminal size changes mean nothing to the built-ins.
  });
  ws.on('close', () => {
    abort.abort();
    stdin.destroy();
  });
  ws.on('error', () => ws.terminate());

  const stdout = exec.stdout ? channelWriter(ws, Channel.STDOUT) : discard();
  // With a TTY there is no separate stderr: it shares the terminal (stdout).
  const stderr = exec.tty ? stdout : exec.stderr ? channelWriter(ws, Channel.STDERR) : discard();

  void runCommand(exec.command, { stdin, stdout, stderr, pod: exec.pod, signal: abort.signal }).then(async (result) => {
    onEnd?.(exec.command, result);
    stdin.destroy();
    // Output still buffered in the channel writers goes first; the status is the last word.
    await finished([stdout, stderr]);
    if (ws.readyState !== ws.OPEN) return;
    const status = Buffer.from(JSON.stringify(statusFor(exec, result)));
    ws.send(Buffer.concat([Buffer.of(Channel.ERROR), status]), { binary: true });
    // The client reads every channel until the connection closes.
    ws.close(1000);
  });
}

// ---------------------------------------------------------------- SPDY

function execOverSpdy(socket: Duplex, head: Buffer, exec: ExecRequest, onEnd: OnCommandEnd | undefined): void {
  const abort = new AbortController();
  const streams = new Map<string, SpdyStream>();
  const expected = new Set(['error']);
  if (exec.stdin) expected.add('stdin');
  if (exec.stdout) expected.add('stdout');
  if (exec.stderr && !exec.tty) expected.add('stderr');
  if (exec.tty) expected.add('resize');
  let started = false;
  // Declared before the session: a bad first frame can close it inside the constructor.
  let timer: NodeJS.Timeout | undefined;

  const session = new SpdySession(
    socket,
    {
      onStream(stream) {
        const type = stream.header('streamtype') ?? '';
        if (!expected.has(type) || streams.has(type) || started) {
          stream.destroy();
          return;
        }
        stream.reply();
        stream.on('error', () => stream.destroy());
        if (type !== 'stdin') stream.resume(); // nothing meaningful arrives on the others
        streams.set(type, stream);
        if ([...expected].every((t) => streams.has(t))) start();
      },
      onClose() {
        clearTimeout(timer);
        abort.abort();
      },
    },
    head,
  );
  if (!session.isClosed) timer = setTimeout(() => session.close(), STREAM_CREATION_TIMEOUT_MS);

  function start(): void {
    started = true;
    clearTimeout(timer);
    const stdin = streams.get('stdin') ?? emptyInput();
    const stdout = streams.get('stdout') ?? discard();
    const stderr = exec.tty ? stdout : (streams.get('stderr') ?? discard());
    const errorStream = streams.get('error')!;
    void runCommand(exec.command, { stdin, stdout, stderr, pod: exec.pod, signal: abort.signal }).then(async (result) => {
      onEnd?.(exec.command, result);
      await finished([stdout, stderr]);
      if (session.isClosed) return;
      errorStream.end(JSON.stringify(statusFor(exec, result)));
      await finished([errorStream]);
      session.close();
    });
  }
}
