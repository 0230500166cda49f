/** Generated pod logs: exact size and content, limitBytes, and backpressure from a reader that stops. */
import { Writable } from 'node:stream';
import type { ServerResponse } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import {
  GENERATED_CHUNK_BYTES,
  GENERATED_LINE_BYTES,
  generatedLine,
  generatedLineCount,
  generatedLogChunks,
} from '../../../../src/emulator/apiserver/generated-log.js';
import { LogOutput } from '../../../../src/emulator/apiserver/log-output.js';
import { servePodLog } from '../../../../src/emulator/apiserver/logs.js';
import { EmulatedPod } from '../../../../src/emulator/apiserver/pod-runtime.js';
import { expectedGeneratedLog } from '../../../helpers/generated-log.js';

const expectedLog = expectedGeneratedLog;

const joined = (chunks: Iterable<Buffer>) => Buffer.concat([...chunks]).toString('latin1');

describe('generated log text', () => {
  it('numbers fixed-length lines from 1', () => {
    expect(generatedLine(1)).toBe(`line 000000001 ${'x'.repeat(84)}\n`);
    expect(generatedLine(123456789)).toHaveLength(GENERATED_LINE_BYTES);
    expect(generatedLine(123456789).startsWith('line 123456789 x')).toBe(true);
  });

  it('is exactly the requested size, the same every time, across chunk boundaries and short last lines', () => {
    for (const size of [0, 1, 99, 100, 101, 250, GENERATED_CHUNK_BYTES, 3 * GENERATED_CHUNK_BYTES + 37]) {
      const text = joined(generatedLogChunks(size, 1));
      expect(text.length, `size ${size}`).toBe(size);
      expect(text, `size ${size}`).toBe(expectedLog(size));
      expect(joined(generatedLogChunks(size, 1)), `size ${size}, again`).toBe(text);
      if (size) expect(text.endsWith('\n'), `size ${size}`).toBe(true);
    }
  });

  it('starts at a given line and prefixes each line; a 10-byte last line is 9 bytes and a newline', () => {
    const size = 1000 * GENERATED_LINE_BYTES + 10;
    expect(generatedLineCount(size)).toBe(1001);
    const tail = joined(generatedLogChunks(size, 999)).split('\n');
    expect(tail).toEqual([generatedLine(999).trimEnd(), generatedLine(1000).trimEnd(), 'line 0000', '']);
    const stamped = joined(generatedLogChunks(size, 1000, '2026-01-02T03:04:05.000Z ')).split('\n');
    expect(stamped.slice(0, 2)).toEqual([`2026-01-02T03:04:05.000Z ${generatedLine(1000).trimEnd()}`, '2026-01-02T03:04:05.000Z line 0000']);
    expect([...generatedLogChunks(size, 1002)]).toEqual([]);
  });

  it('comes in chunks of about the asked size, each a new buffer', () => {
    const chunks = [...generatedLogChunks(10 * GENERATED_CHUNK_BYTES, 1)];
    for (const c of chunks.slice(0, -1)) {
      expect(c.length).toBeLessThanOrEqual(GENERATED_CHUNK_BYTES);
      expect(c.length).toBeGreaterThan(GENERATED_CHUNK_BYTES - GENERATED_LINE_BYTES);
    }
    expect(new Set(chunks.map((c) => c.buffer)).size).toBe(chunks.length);
  });
});

/**
 * A response whose reader has stopped: every write is held until release(), and `chunk` is
 * emitted when the response hands a chunk on.
 */
class StalledResponse extends Writable {
  readonly held: (() => void)[] = [];
  readonly received: Buffer[] = [];
  statusCode = 0;
  headers: Record<string, string> = {};

  constructor() {
    super({ highWaterMark: 16 * 1024 });
  }

  #reading = false;

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: () => void): void {
    this.received.push(Buffer.from(chunk));
    if (this.#reading) callback();
    else this.held.push(callback);
    this.emit('chunk');
  }

  writeHead(status: number, headers: Record<string, string>): this {
    this.statusCode = status;
    this.headers = headers;
    return this;
  }

  flushHeaders(): void {}

  /** Lets the reader take what it holds; resolves when the response writes its next chunk. */
  async releaseAndWaitForNext(): Promise<void> {
    const next = new Promise<void>((resolve) => this.once('chunk', resolve));
    for (const cb of this.held.splice(0)) cb();
    await next;
  }

  /** The reader reads again, from now on without stopping. */
  readAll(): void {
    this.#reading = true;
    for (const cb of this.held.splice(0)) cb();
  }

  text(): string {
    return Buffer.concat(this.received).toString('latin1');
  }
}

const pods: EmulatedPod[] = [];
afterEach(async () => {
  for (const p of pods.splice(0)) await p.stop();
});

async function generatedPod(bytes: number): Promise<EmulatedPod> {
  const pod = new EmulatedPod('default', 'big', ['main'], {});
  pods.push(pod);
  await pod.start([], false, () => Date.UTC(2026, 0, 2, 3, 4, 5), bytes);
  return pod;
}

describe('serving a generated log', () => {
  it('writes one chunk, then nothing more until the reader takes it; stops when the reader goes', async () => {
    const pod = await generatedPod(100 * 1024 * 1024);
    const res = new StalledResponse();
    servePodLog(res as unknown as ServerResponse, pod, new URLSearchParams());
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/plain');
    expect(res.received).toHaveLength(1);
    expect(res.writableLength).toBeLessThanOrEqual(GENERATED_CHUNK_BYTES);
    for (let i = 2; i <= 20; i++) {
      await res.releaseAndWaitForNext();
      expect(res.received).toHaveLength(i);
      // Never more than the chunk the reader has not taken yet.
      expect(res.writableLength).toBeLessThanOrEqual(GENERATED_CHUNK_BYTES);
    }
    expect(res.text()).toBe(expectedLog(res.text().length));
    res.destroy();
    for (const cb of res.held.splice(0)) cb();
    await new Promise((resolve) => res.once('close', resolve));
    expect(res.received).toHaveLength(20);
  });

  it('pumps any chunk source with the same rule, then says when it is done', async () => {
    const res = new StalledResponse();
    const out = new LogOutput(res);
    let pulled = 0;
    function* source() {
      for (let i = 0; i < 5; i++) {
        pulled++;
        yield Buffer.alloc(32 * 1024, 65 + i);
      }
    }
    let done = false;
    out.pump(source(), () => (done = true));
    expect(pulled).toBe(1);
    for (let i = 2; i <= 5; i++) {
      await res.releaseAndWaitForNext();
      expect(pulled).toBe(i);
    }
    expect(done).toBe(false);
    const drained = new Promise((resolve) => res.once('drain', resolve));
    for (const cb of res.held.splice(0)) cb();
    await drained;
    expect(done).toBe(true);
    expect(res.text()).toBe(
      'ABCDE'
        .split('')
        .map((c) => c.repeat(32 * 1024))
        .join(''),
    );
  });

  it('cuts the output at limitBytes, then ends the response', async () => {
    const res = new StalledResponse();
    const out = new LogOutput(res, 10);
    expect(out.write('hello ')).toBe(true);
    expect(out.write(Buffer.from('world, and more'))).toBe(false);
    expect(out.closed).toBe(true);
    expect(out.write('ignored')).toBe(false);
    const finished = new Promise((resolve) => res.once('finish', resolve));
    res.readAll();
    await finished;
    expect(res.text()).toBe('hello worl');
  });
});
