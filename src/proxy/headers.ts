/**
 * Header rewriting between kubectl and the cluster agent. Pure functions over Node's
 * `rawHeaders` ([name, value, name, value, ...]), so repeated headers (Impersonate-Group,
 * Warning, Set-Cookie) and the client's spelling survive, and nothing is re-parsed.
 */
import { HOP_BY_HOP_HEADERS } from '../net/hop-by-hop.js';

const HOP_BY_HOP = HOP_BY_HOP_HEADERS;

export interface RequestRewrite {
  /** Entra mode: the token to send as `Authorization: Bearer`; absent in passthrough mode. */
  bearerToken?: string;
  /** An upgrade request (exec, attach, port-forward): keep `Upgrade` and send `Connection: Upgrade`. */
  upgrade: boolean;
  /**
   * Microsoft's tracing headers for the agent's logs: the session's id and this request's. They
   * replace any the client sent, so the agent's log groups by arcproxy's session.
   */
  trace?: { correlationId: string; requestId: string } | undefined;
}

export interface RewrittenRequest {
  /** Flat [name, value, ...] list, ready for a raw request head (requestHead()). */
  headers: string[];
  /** Whether the request carries a body (Content-Length > 0 or Transfer-Encoding). */
  hasBody: boolean;
  /** How the client framed its body: by Content-Length (its value), in chunks, or not at all. */
  framing: { kind: 'length'; contentLength: number } | { kind: 'chunked' } | { kind: 'none' };
}

/** Header names a `Connection` header lists are hop-by-hop too (RFC 9110 §7.6.1). */
function connectionListed(raw: readonly string[]): Set<string> | undefined {
  let listed: Set<string> | undefined;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    // This pass runs on every request and response: compare the length before lower-casing.
    const name = raw[i]!;
    if (name.length !== 10 || name.toLowerCase() !== 'connection') continue;
    for (const token of raw[i + 1]!.split(',')) {
      const t = token.trim().toLowerCase();
      if (t) (listed ??= new Set()).add(t);
    }
  }
  return listed;
}

function isIdentityHeader(lower: string): boolean {
  return lower === 'authorization' || lower.startsWith('impersonate-');
}

export function rewriteRequestHeaders(raw: readonly string[], opts: RequestRewrite): RewrittenRequest {
  const listed = connectionListed(raw);
  const entra = opts.bearerToken !== undefined;
  const out: string[] = [];
  let upgradeValue: string | undefined;
  let transferEncoding: string | undefined;
  let contentLength: number | undefined;
  let hasBody = false;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!;
    const value = raw[i + 1]!;
    // HTTP/2 pseudo-headers (:method, :path...) are never header fields upstream; a list from an
    // HTTP/2 request is translated by http1RequestHeaders first, this keeps any other caller safe.
    if (name.charCodeAt(0) === 0x3a /* : */) continue;
    const lower = name.toLowerCase();
    if (lower === 'upgrade') {
      upgradeValue ??= value;
      continue;
    }
    if (lower === 'transfer-encoding') {
      transferEncoding = transferEncoding === undefined ? value : `${transferEncoding}, ${value}`;
      continue;
    }
    if (HOP_BY_HOP.has(lower) || listed?.has(lower)) continue;
    // Node's server has already answered `Expect: 100-continue` to the client.
    if (lower === 'expect') continue;
    if (entra && isIdentityHeader(lower)) continue;
    if (opts.trace && (lower === 'x-ms-correlation-request-id' || lower === 'x-ms-client-request-id')) continue;
    if (lower === 'content-length') {
      // Node's server has checked it is one number.
      contentLength = Number(value.trim());
      if (contentLength !== 0) hasBody = true;
    }
    out.push(name, value);
  }
  if (opts.upgrade) {
    if (upgradeValue !== undefined) out.push('Connection', 'Upgrade', 'Upgrade', upgradeValue);
  } else if (transferEncoding !== undefined) {
    // Kept (not dropped): the body is sent on re-chunked (request-body.ts), whatever the method.
    out.push('Transfer-Encoding', transferEncoding);
    hasBody = true;
  }
  if (opts.trace) out.push('x-ms-correlation-request-id', opts.trace.correlationId, 'x-ms-client-request-id', opts.trace.requestId);
  if (entra) out.push('Authorization', `Bearer ${opts.bearerToken}`);
  const framing: RewrittenRequest['framing'] =
    !opts.upgrade && transferEncoding !== undefined ? { kind: 'chunked' } : contentLength !== undefined ? { kind: 'length', contentLength } : { kind: 'none' };
  return { headers: out, hasBody, framing };
}

/**
 * An HTTP/2 request's header list as the HTTP/1.1 request it becomes on the relay stream (always
 * HTTP/1.1, docs/protocol.md), for rewriteRequestHeaders to treat like any other:
 * - pseudo-headers go; `:authority` becomes `Host` (first, as HTTP/1.1 clients send it), which an
 *   HTTP/1.1 request must carry;
 * - `cookie` fields, which HTTP/2 may split, are joined again with "; " (RFC 9113 §8.2.3);
 * - a body without Content-Length, normal in HTTP/2 where the stream's end marks the body's end,
 *   gets `Transfer-Encoding: chunked`, the only way HTTP/1.1 can frame it. `body` is false when the
 *   client ended the stream with its headers: such a request must not grow a body.
 */
export function http1RequestHeaders(raw: readonly string[], opts: { body: boolean }): string[] {
  let authority: string | undefined;
  let host: string | undefined;
  let cookie: string | undefined;
  let cookieAt = -1;
  let length = false;
  const rest: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!;
    const value = raw[i + 1]!;
    if (name.charCodeAt(0) === 0x3a /* : */) {
      if (name === ':authority') authority ??= value;
      continue;
    }
    // Node lower-cases HTTP/2 header names.
    const lower = name.toLowerCase();
    if (lower === 'host') {
      host ??= value;
    } else if (lower === 'cookie') {
      if (cookie === undefined) {
        cookieAt = rest.length;
        rest.push('cookie', '');
      }
      cookie = cookie === undefined ? value : `${cookie}; ${value}`;
    } else {
      if (lower === 'content-length') length = true;
      rest.push(name, value);
    }
  }
  if (cookie !== undefined) rest[cookieAt + 1] = cookie;
  const hostValue = authority ?? host;
  const out = hostValue === undefined ? rest : ['host', hostValue, ...rest];
  if (opts.body && !length) out.push('transfer-encoding', 'chunked');
  return out;
}

/** Response headers for kubectl: end-to-end only; Node re-frames the body itself. */
export function rewriteResponseHeaders(raw: readonly string[]): string[] {
  const listed = connectionListed(raw);
  const out: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const lower = raw[i]!.toLowerCase();
    if (HOP_BY_HOP.has(lower) || listed?.has(lower)) continue;
    out.push(raw[i]!, raw[i + 1]!);
  }
  return out;
}

/** The request head written onto a stream, as latin1 bytes like Node's own. */
export function requestHead(method: string, path: string, headers: readonly string[]): string {
  let head = `${method} ${path} HTTP/1.1\r\n`;
  for (let i = 0; i + 1 < headers.length; i += 2) head += `${headers[i]}: ${headers[i + 1]}\r\n`;
  return `${head}\r\n`;
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** Node's client refuses these in a path: anything that could end the request line early. */
const BAD_PATH = /[^\u0021-\u00ff]/;
/** Anything but HTAB, SP, visible ASCII and obs-text (CR and LF above all). */
const BAD_VALUE = /[^\t\x20-\x7e\x80-\xff]/;

/**
 * Why this request head cannot be written as is, or undefined when it can. Node's server has
 * already refused most bad input; this keeps a head written by hand from ever carrying a stray
 * line break (the same checks http.request makes).
 */
export function unsendableHead(method: string, path: string, headers: readonly string[]): string | undefined {
  if (!TOKEN.test(method)) return 'the method is not a valid HTTP token';
  if (BAD_PATH.test(path)) return 'the request path contains unescaped characters';
  let hosts = 0;
  for (let i = 0; i + 1 < headers.length; i += 2) {
    const name = headers[i]!;
    if (!TOKEN.test(name)) return `header name ${JSON.stringify(name)} is not a valid HTTP token`;
    if (BAD_VALUE.test(headers[i + 1]!)) return `invalid character in header ${name}`;
    // Two Host headers could route a request two ways: RFC 9112 §3.2 says answer 400.
    if (name.length === 4 && name.toLowerCase() === 'host' && ++hosts > 1) return 'more than one Host header';
  }
  return undefined;
}

/** The first value of header `lowerName` in a raw list, or undefined. */
export function headerValue(raw: readonly string[], lowerName: string): string | undefined {
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length === lowerName.length && name.toLowerCase() === lowerName) return raw[i + 1];
  }
  return undefined;
}
