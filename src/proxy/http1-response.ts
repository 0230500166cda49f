/**
 * A strict, incremental HTTP/1.1 response parser (RFC 9112) for what the cluster agent sends back
 * on a relay stream. Bytes may arrive split anywhere; body bytes are handed on as subarrays of the
 * chunks that carried them, never copied. Only a line split across chunks (status line, a header,
 * a chunk-size line) is copied, to join its halves.
 *
 * Decisions, for a peer that is always an HTTP/1.1 server (the agent):
 *  - Lines must end in CRLF; a bare LF or a bare CR is an error, found as soon as it arrives (a
 *    tolerated bare LF would be one more way for two parsers to disagree about framing).
 *  - obs-fold (a header line starting with whitespace), whitespace before a header's colon, a
 *    status line that is not `HTTP/1.x NNN [reason]` and control characters are errors.
 *  - Interim 1xx responses (100, 102, 103) are skipped; 101 is final and ends parsing: what
 *    follows is another protocol and the stream cannot carry another request.
 *  - No body: responses to HEAD, 1xx, 204, 304.
 *  - Transfer-Encoding must be exactly `chunked`; any other coding is refused (it could not be
 *    relayed: the hop-by-hop header is dropped towards kubectl). With Content-Length too,
 *    Transfer-Encoding wins, the Content-Length is removed from the headers handed on (as an
 *    intermediary must), and the stream is not reused.
 *  - Content-Length: digits only; repeats (as fields or a list) must agree.
 *  - Neither: the body runs until the stream ends (close-delimited).
 *  - Chunk extensions and trailers are read and dropped.
 *  - Reusable afterwards only for HTTP/1.1 without `Connection: close`, a body framed by length
 *    or chunks, and no byte beyond the end of the response.
 */
import { ArcproxyError } from '../errors/index.js';

/** The agent sent something that is not a well-formed HTTP/1.1 response. */
export class ResponseParseError extends ArcproxyError {
  constructor(message: string) {
    super('ARCPROXY_BAD_UPSTREAM_RESPONSE', message);
    this.name = 'ResponseParseError';
  }
}

export interface ResponseHead {
  statusCode: number;
  statusMessage: string;
  /** The minor version: 0 for HTTP/1.0, 1 for HTTP/1.1. */
  httpMinor: number;
  /** [name, value, ...] as received (spelling and repeats kept), like Node's rawHeaders. */
  rawHeaders: string[];
}

export interface ResponseParserHandlers {
  /** The final response head (interim 1xx responses are not reported). */
  onHead(head: ResponseHead): void;
  /** A piece of the body, with any transfer coding removed. */
  onBody(chunk: Buffer): void;
  /** The response is complete. */
  onEnd(): void;
}

/** Largest status line plus headers, and largest trailer section. */
export const MAX_HEAD_BYTES = 64 * 1024;
/** Largest chunk-size line, extensions included. */
const MAX_CHUNK_LINE_BYTES = 4 * 1024;

const CR = 0x0d;
const LF = 0x0a;

const STATUS_LINE = /^HTTP\/1\.([0-9]) ([1-9][0-9]{2})(?: ([^]*))?$/;
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** Anything but HTAB, SP, visible ASCII and obs-text. */
const BAD_TEXT = /[^\t\x20-\x7e\x80-\xff]/;
const CHUNK_SIZE_LINE = /^([0-9A-Fa-f]+)[\t ]*(?:;[^]*)?$/;

// Parser states.
const STATUS = 0;
const HEADERS = 1;
const LENGTH_BODY = 2;
const CHUNK_SIZE = 3;
const CHUNK_DATA = 4;
const CHUNK_DATA_END = 5;
const TRAILERS = 6;
const UNTIL_CLOSE = 7;
const DONE = 8;
const FAILED = 9;

/** Trims SP and HTAB only (String.trim would also take obs-text's 0xA0). */
function trimOws(s: string): string {
  let start = 0;
  let end = s.length;
  while (start < end && (s.charCodeAt(start) === 0x20 || s.charCodeAt(start) === 0x09)) start++;
  while (end > start && (s.charCodeAt(end - 1) === 0x20 || s.charCodeAt(end - 1) === 0x09)) end--;
  return start === 0 && end === s.length ? s : s.slice(start, end);
}

/** A header name in lower case, only for the three names framing depends on (length first: cheap). */
function framingName(name: string): 'content-length' | 'transfer-encoding' | 'connection' | undefined {
  if (name.length === 14) return name.toLowerCase() === 'content-length' ? 'content-length' : undefined;
  if (name.length === 17) return name.toLowerCase() === 'transfer-encoding' ? 'transfer-encoding' : undefined;
  if (name.length === 10) return name.toLowerCase() === 'connection' ? 'connection' : undefined;
  return undefined;
}

function listTokens(value: string): string[] {
  const out: string[] = [];
  for (const part of value.split(',')) {
    const t = trimOws(part).toLowerCase();
    if (t !== '') out.push(t);
  }
  return out;
}

export class ResponseParser {
  readonly #noBodyRequest: boolean;
  readonly #on: ResponseParserHandlers;
  #state = STATUS;
  #stopped = false;
  /** The start of a line whose end has not arrived yet. */
  #carry: Buffer | undefined;
  /** Bytes of the head (or trailers) read so far, against MAX_HEAD_BYTES. */
  #sectionBytes = 0;
  #remaining = 0;
  #reusable = true;
  #upgraded = false;
  // The head being read.
  #statusCode = 0;
  #statusMessage = '';
  #httpMinor = 1;
  #rawHeaders: string[] = [];
  #contentLength: number | undefined;
  #contentLengthIndexes: number[] | undefined;
  #transferCodings: string[] | undefined;
  #connectionClose = false;

  /** `method` is the request's: a response to HEAD has no body whatever its headers say. */
  constructor(method: string, handlers: ResponseParserHandlers) {
    this.#noBodyRequest = method === 'HEAD';
    this.#on = handlers;
  }

  /** The whole response has been read. */
  get done(): boolean {
    return this.#state === DONE;
  }

  /** Whether the stream can carry another request once the response is done. */
  get reusable(): boolean {
    return this.#state === DONE && this.#reusable;
  }

  /** The response was 101 Switching Protocols: what follows is not HTTP. */
  get upgraded(): boolean {
    return this.#upgraded;
  }

  /** Stops parsing: no handler is called again, and the rest of the bytes are ignored. */
  stop(): void {
    this.#stopped = true;
  }

  /**
   * Parses the next bytes of the stream. Handlers are called synchronously, in order; if one
   * calls stop(), the rest is ignored. Throws ResponseParseError on malformed input, after which
   * the parser takes nothing more.
   */
  execute(chunk: Buffer): void {
    let pos = 0;
    const len = chunk.length;
    try {
      while (pos < len && !this.#stopped) {
        switch (this.#state) {
          case STATUS:
          case HEADERS:
          case TRAILERS:
            pos = this.#readLine(chunk, pos, MAX_HEAD_BYTES);
            break;
          case CHUNK_SIZE:
          case CHUNK_DATA_END:
            pos = this.#readLine(chunk, pos, MAX_CHUNK_LINE_BYTES);
            break;
          case LENGTH_BODY:
          case CHUNK_DATA: {
            const n = Math.min(this.#remaining, len - pos);
            this.#remaining -= n;
            const piece = pos === 0 && n === len ? chunk : chunk.subarray(pos, pos + n);
            pos += n;
            if (this.#remaining === 0) this.#state = this.#state === LENGTH_BODY ? DONE : CHUNK_DATA_END;
            this.#on.onBody(piece);
            if (this.#state === DONE) this.#end();
            break;
          }
          case UNTIL_CLOSE:
            this.#on.onBody(pos === 0 ? chunk : chunk.subarray(pos));
            pos = len;
            break;
          case DONE:
            // Bytes nobody asked for: the stream is out of step (or, after a 101, speaks
            // another protocol). Either way it carries no further request.
            this.#reusable = false;
            return;
          default:
            return;
        }
      }
    } catch (err) {
      this.#state = FAILED;
      throw err;
    }
  }

  /**
   * The stream ended cleanly (no more bytes will come). Returns whether that completed the
   * response: true for a close-delimited body (its end is reported now) or one already done.
   */
  finish(): boolean {
    if (this.#state === UNTIL_CLOSE) {
      this.#state = DONE;
      this.#end();
      return true;
    }
    if (this.#state === DONE) return true;
    this.#state = FAILED;
    return false;
  }

  /** Reads up to the next LF; handles the line when it is whole. Returns the new position. */
  #readLine(chunk: Buffer, pos: number, limit: number): number {
    const lf = chunk.indexOf(LF, pos);
    const end = lf === -1 ? chunk.length : lf;
    const carried = this.#carry?.length ?? 0;
    this.#sectionBytes += end - pos + (lf === -1 ? 0 : 1);
    if (this.#sectionBytes > limit)
      throw new ResponseParseError(
        `the response ${this.#state === CHUNK_SIZE || this.#state === CHUNK_DATA_END ? 'chunk-size line' : 'head'} is longer than ${limit} bytes`,
      );
    if (lf === -1) {
      // A CR must be followed by LF: a bare CR is refused now, not when (if ever) an LF comes.
      const cr = chunk.indexOf(CR, pos);
      if ((cr !== -1 && cr < chunk.length - 1) || this.#carry?.[carried - 1] === CR) throw new ResponseParseError('bare CR in the response');
      this.#carry = carried === 0 ? Buffer.from(chunk.subarray(pos)) : Buffer.concat([this.#carry!, chunk.subarray(pos)]);
      return chunk.length;
    }
    let line: string;
    if (carried === 0) {
      if (end === pos || chunk[end - 1] !== CR) throw new ResponseParseError('a line of the response ends in a bare LF');
      line = chunk.toString('latin1', pos, end - 1);
    } else {
      const joined = Buffer.concat([this.#carry!, chunk.subarray(pos, end)]);
      this.#carry = undefined;
      if (joined[joined.length - 1] !== CR) throw new ResponseParseError('a line of the response ends in a bare LF');
      line = joined.toString('latin1', 0, joined.length - 1);
    }
    // Any CR left inside the line is a bare CR (an LF cannot be: lines end at the first one).
    if (line.includes('\r')) throw new ResponseParseError('bare CR in the response');
    this.#line(line);
    return lf + 1;
  }

  #line(line: string): void {
    switch (this.#state) {
      case STATUS:
        return this.#statusLine(line);
      case HEADERS:
        if (line === '') return this.#endOfHead();
        return this.#fieldLine(line, true);
      case TRAILERS:
        if (line === '') return this.#complete();
        return this.#fieldLine(line, false);
      case CHUNK_SIZE:
        return this.#chunkSize(line);
      case CHUNK_DATA_END:
        if (line !== '') throw new ResponseParseError('chunk data is longer than its chunk size');
        this.#state = CHUNK_SIZE;
        this.#sectionBytes = 0;
        return;
    }
  }

  #statusLine(line: string): void {
    const m = STATUS_LINE.exec(line);
    if (m === null) throw new ResponseParseError(`not an HTTP/1.x status line: ${JSON.stringify(line.slice(0, 40))}`);
    const reason = m[3] ?? '';
    if (BAD_TEXT.test(reason)) throw new ResponseParseError('control character in the reason phrase');
    this.#httpMinor = Number(m[1]);
    this.#statusCode = Number(m[2]);
    this.#statusMessage = reason;
    this.#state = HEADERS;
  }

  #fieldLine(line: string, keep: boolean): void {
    const first = line.charCodeAt(0);
    if (first === 0x20 || first === 0x09) throw new ResponseParseError('obs-fold (a header line continued on the next line)');
    const colon = line.indexOf(':');
    if (colon <= 0) throw new ResponseParseError('a header line without a name and colon');
    const name = line.slice(0, colon);
    if (!TOKEN.test(name)) throw new ResponseParseError(`invalid header name ${JSON.stringify(name.slice(0, 40))}`);
    const value = trimOws(line.slice(colon + 1));
    if (BAD_TEXT.test(value)) throw new ResponseParseError(`control character in header ${name}`);
    if (!keep) return; // a trailer: dropped
    const framing = framingName(name);
    if (framing === 'content-length') this.#addContentLength(value, this.#rawHeaders.length);
    else if (framing === 'transfer-encoding') (this.#transferCodings ??= []).push(...listTokens(value));
    else if (framing === 'connection' && listTokens(value).includes('close')) this.#connectionClose = true;
    this.#rawHeaders.push(name, value);
  }

  #addContentLength(value: string, index: number): void {
    for (const part of value.split(',')) {
      const digits = trimOws(part);
      if (!/^[0-9]{1,15}$/.test(digits)) throw new ResponseParseError(`invalid Content-Length ${JSON.stringify(value.slice(0, 40))}`);
      const n = Number(digits);
      if (this.#contentLength !== undefined && this.#contentLength !== n) throw new ResponseParseError('conflicting Content-Length values');
      this.#contentLength = n;
    }
    (this.#contentLengthIndexes ??= []).push(index);
  }

  #endOfHead(): void {
    const status = this.#statusCode;
    if (status < 200 && status !== 101) {
      // Interim (100 Continue, 103 Early Hints): the final response follows.
      this.#resetHead();
      return;
    }
    const codings = this.#transferCodings;
    const chunked = codings !== undefined && codings.length > 0;
    if (codings !== undefined && (codings.length !== 1 || codings[0] !== 'chunked')) {
      throw new ResponseParseError(`unsupported Transfer-Encoding ${JSON.stringify(codings.join(', '))}`);
    }
    const rawHeaders = this.#rawHeaders;
    if (chunked && this.#contentLengthIndexes !== undefined) {
      // Transfer-Encoding overrides Content-Length (RFC 9112 §6.3); a message with both is
      // suspect, so its stream is not reused and the Content-Length is not passed on.
      for (const i of [...this.#contentLengthIndexes].reverse()) rawHeaders.splice(i, 2);
      this.#reusable = false;
    }
    if (this.#httpMinor === 0 || this.#connectionClose) this.#reusable = false;
    const head: ResponseHead = { statusCode: status, statusMessage: this.#statusMessage, httpMinor: this.#httpMinor, rawHeaders };
    this.#sectionBytes = 0;

    if (status === 101) {
      this.#upgraded = true;
      this.#reusable = false;
      this.#state = DONE;
    } else if (this.#noBodyRequest || status === 204 || status === 304) {
      this.#state = DONE;
    } else if (chunked) {
      this.#state = CHUNK_SIZE;
    } else if (this.#contentLength !== undefined) {
      this.#remaining = this.#contentLength;
      this.#state = this.#contentLength === 0 ? DONE : LENGTH_BODY;
    } else {
      this.#reusable = false;
      this.#state = UNTIL_CLOSE;
    }
    this.#on.onHead(head);
    if (this.#state === DONE) this.#end();
  }

  #resetHead(): void {
    this.#state = STATUS;
    this.#sectionBytes = 0;
    this.#rawHeaders = [];
    this.#contentLength = undefined;
    this.#contentLengthIndexes = undefined;
    this.#transferCodings = undefined;
    this.#connectionClose = false;
  }

  #chunkSize(line: string): void {
    const m = CHUNK_SIZE_LINE.exec(line);
    if (m === null || BAD_TEXT.test(line)) throw new ResponseParseError(`invalid chunk-size line ${JSON.stringify(line.slice(0, 40))}`);
    const size = Number.parseInt(m[1]!, 16);
    if (!Number.isSafeInteger(size)) throw new ResponseParseError('chunk size too large');
    this.#sectionBytes = 0;
    if (size === 0) {
      this.#state = TRAILERS;
      return;
    }
    this.#remaining = size;
    this.#state = CHUNK_DATA;
  }

  #complete(): void {
    this.#state = DONE;
    this.#end();
  }

  #end(): void {
    if (!this.#stopped) this.#on.onEnd();
  }
}
