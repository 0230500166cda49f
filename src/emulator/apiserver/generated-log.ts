/**
 * A pod's generated log (seed `logBytes`): numbered lines of fixed length, made on demand a chunk
 * at a time, so a response of any size costs one chunk of memory. Line n (from 1) is
 * "line 000000042 xxx…x\n", GENERATED_LINE_BYTES long. When the size is not a whole number of
 * lines, the last line is shorter, still ending in a newline, so followed lines stay lines.
 */

export const GENERATED_LINE_BYTES = 100;
const DIGITS = 9;
const HEAD = 'line ';
/** The largest log whose line numbers fit the fixed width. */
export const GENERATED_LOG_MAX_BYTES = (10 ** DIGITS - 1) * GENERATED_LINE_BYTES;
/** Large enough that producing the log costs little next to sending it. */
export const GENERATED_CHUNK_BYTES = 64 * 1024;

/** Line `n` (from 1) in full, newline included. */
export function generatedLine(n: number): string {
  const head = `${HEAD}${String(n).padStart(DIGITS, '0')} `;
  return `${head}${'x'.repeat(GENERATED_LINE_BYTES - head.length - 1)}\n`;
}

/** How many lines a log of `totalBytes` has (a cut last line counts). */
export function generatedLineCount(totalBytes: number): number {
  return Math.ceil(totalBytes / GENERATED_LINE_BYTES);
}

function writeDigits(buf: Buffer, at: number, n: number): void {
  for (let i = DIGITS - 1; i >= 0; i--) {
    buf[at + i] = 48 + (n % 10);
    n = Math.floor(n / 10);
  }
}

/**
 * The log of `totalBytes` from line `firstLine` (from 1) to its end, each line preceded by
 * `prefix` (an ASCII timestamp, or ''), in chunks of about `chunkBytes` (at least one line each).
 * Every chunk is a new Buffer: a response may still hold the previous one.
 */
export function* generatedLogChunks(totalBytes: number, firstLine: number, prefix = '', chunkBytes = GENERATED_CHUNK_BYTES): Generator<Buffer> {
  const lines = generatedLineCount(totalBytes);
  const lineBytes = prefix.length + GENERATED_LINE_BYTES;
  const perChunk = Math.max(1, Math.floor(chunkBytes / lineBytes));
  const template = Buffer.from(`${prefix}${generatedLine(0)}`.repeat(perChunk), 'latin1');
  const digitsAt = prefix.length + HEAD.length;
  // What the short last line lacks of a whole one.
  const cut = lines * GENERATED_LINE_BYTES - totalBytes;
  for (let n = Math.max(1, firstLine); n <= lines; n += perChunk) {
    const count = Math.min(perChunk, lines - n + 1);
    let chunk = Buffer.allocUnsafe(count * lineBytes);
    template.copy(chunk, 0, 0, chunk.length);
    for (let i = 0; i < count; i++) writeDigits(chunk, i * lineBytes + digitsAt, n + i);
    if (n + count > lines && cut > 0) {
      chunk = chunk.subarray(0, chunk.length - cut);
      chunk[chunk.length - 1] = 0x0a;
    }
    yield chunk;
  }
}
