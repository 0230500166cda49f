import { PassThrough, Readable, Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { runCommand, splitShellWords } from '../../../../../src/emulator/apiserver/streaming/commands.js';
import { fakePod } from './helpers.js';

function sink(): Writable & { text(): string } {
  const chunks: Buffer[] = [];
  const w = new Writable({
    write(c: Buffer, _e, cb) {
      chunks.push(Buffer.from(c));
      cb();
    },
  }) as Writable & { text(): string };
  w.text = () => Buffer.concat(chunks).toString();
  return w;
}

async function run(argv: string[], stdinText?: string, signal = new AbortController().signal) {
  const stdout = sink();
  const stderr = sink();
  const stdin = stdinText === undefined ? Readable.from([]) : Readable.from([Buffer.from(stdinText)]);
  const result = await runCommand(argv, { stdin, stdout, stderr, pod: fakePod(), signal });
  return { result, stdout: stdout.text(), stderr: stderr.text() };
}

describe('built-in commands', () => {
  it('echo prints its arguments', async () => {
    expect(await run(['echo', 'hello', 'world'])).toEqual({ result: { kind: 'exit', code: 0 }, stdout: 'hello world\n', stderr: '' });
    expect((await run(['/bin/echo', '-n', 'x'])).stdout).toBe('x');
  });

  it('cat copies stdin until it ends', async () => {
    const { result, stdout } = await run(['cat'], 'line one\nline two\n');
    expect(result).toEqual({ kind: 'exit', code: 0 });
    expect(stdout).toBe('line one\nline two\n');
  });

  it('env, hostname, true, false', async () => {
    expect((await run(['env'])).stdout).toBe('GREETING=hi there\nHOME=/root\n');
    expect((await run(['hostname'])).stdout).toBe('hello-0\n');
    expect((await run(['true'])).result).toEqual({ kind: 'exit', code: 0 });
    expect((await run(['false'])).result).toEqual({ kind: 'exit', code: 1 });
  });

  it('exit N and sh -c "exit N" give the code', async () => {
    expect((await run(['exit', '3'])).result).toEqual({ kind: 'exit', code: 3 });
    expect((await run(['sh', '-c', 'exit 42'])).result).toEqual({ kind: 'exit', code: 42 });
  });

  it('sh -c runs one simple command with quotes and $VARS', async () => {
    const r = await run(['sh', '-c', `echo "$GREETING" '$HOME' \${HOME}`]);
    expect(r.stdout).toBe('hi there $HOME /root\n');
    const missing = await run(['sh', '-c', 'nosuch thing']);
    expect(missing.result).toEqual({ kind: 'exit', code: 127 });
    expect(missing.stderr).toBe('sh: 1: nosuch: not found\n');
    expect((await run(['sh', '-c', 'echo a; echo b'])).result).toEqual({ kind: 'exit', code: 2 });
  });

  it('an unknown executable is a runtime error, as containerd reports it', async () => {
    const r = await run(['nosuch', 'arg']);
    expect(r.result).toEqual({
      kind: 'error',
      message: 'OCI runtime exec failed: exec failed: unable to start container process: exec: "nosuch": executable file not found in $PATH: unknown',
    });
  });

  it('sleep ends early when the client goes away', async () => {
    const abort = new AbortController();
    const started = Date.now();
    const p = run(['sleep', '30'], undefined, abort.signal);
    abort.abort();
    expect((await p).result).toEqual({ kind: 'exit', code: 137 });
    expect(Date.now() - started).toBeLessThan(5000);
    expect((await run(['sleep', 'soon'])).result).toEqual({ kind: 'exit', code: 1 });
  });

  it('cat honours backpressure on stdout', async () => {
    const stdin = new PassThrough();
    let written = 0;
    const slow = new Writable({
      highWaterMark: 1024,
      write(c: Buffer, _e, cb) {
        written += c.length;
        setImmediate(cb);
      },
    });
    const done = runCommand(['cat'], { stdin, stdout: slow, stderr: sink(), pod: fakePod(), signal: new AbortController().signal });
    for (let i = 0; i < 64; i++) stdin.write(Buffer.alloc(4096, i));
    stdin.end();
    expect(await done).toEqual({ kind: 'exit', code: 0 });
    expect(written).toBe(64 * 4096);
  });
});

describe('splitShellWords', () => {
  it('splits on whitespace and keeps quoted spaces', () => {
    expect(splitShellWords(`  a  'b c'  "d e"f `, {})).toEqual(['a', 'b c', 'd ef']);
    expect(() => splitShellWords(`echo 'open`, {})).toThrow(/Unterminated/);
  });
});
