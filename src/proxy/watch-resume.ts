/**
 * Keeps a JSON watch alive across relay drops, credential renewals and agent restarts. A watch is
 * a stream of newline-delimited events, each carrying a resourceVersion; when the stream under it
 * dies mid-response, the same watch is sent again from the last resourceVersion the client has
 * seen (a BOOKMARK's too) and the new events continue the same response (resumable-relay.ts, with
 * backoff and an outage budget, resume-budget.ts). That is exactly what a reflector does after
 * re-watching, so nothing is lost or repeated; kubectl `get -w`, which never re-watches by itself,
 * keeps working.
 *
 * JSON only (Table watches included: kubectl `get -w` asks for those). Protobuf or CBOR watches
 * are cut as they were: the client libraries that ask for them re-watch by themselves.
 */
import { statusObject } from '../net/k8s-status.js';
import { headerValue } from './headers.js';
import type { ResumableBody } from './resumable-relay.js';
import type { UpstreamResponse } from './upstream-response.js';

/** What a watch check needs of a response. */
export type ResponseStatus = Pick<UpstreamResponse, 'statusCode' | 'rawHeaders'>;

/** A GET watch (`?watch=1|true` or a legacy /watch/ path) answered 200 with a JSON body. */
export function isResumableWatch(method: string | undefined, path: string, upRes: ResponseStatus): boolean {
  if ((method ?? 'GET').toUpperCase() !== 'GET' || upRes.statusCode !== 200) return false;
  // Every response passes here: settle the common case (no "watch" anywhere, nothing
  // percent-encoded that could spell it) before looking at headers or parsing a URL.
  if (!path.includes('watch') && !path.includes('%')) return false;
  const type = (headerValue(upRes.rawHeaders, 'content-type') ?? '').toLowerCase();
  if (!type.startsWith('application/json')) return false;
  const url = new URL(path, 'http://x');
  const watch = url.searchParams.get('watch');
  return watch === '1' || watch === 'true' || /^\/apis?\/(?:[^/]+\/)*watch\//.test(url.pathname);
}

/** The watch path again, from `resourceVersion`: initial-event options no longer apply. */
export function resumePath(path: string, resourceVersion: string): string {
  const url = new URL(path, 'http://x');
  url.searchParams.set('resourceVersion', resourceVersion);
  url.searchParams.delete('resourceVersionMatch');
  url.searchParams.delete('sendInitialEvents');
  return `${url.pathname}${url.search}`;
}

interface EventMeta {
  resourceVersion?: unknown;
  annotations?: Record<string, unknown>;
}

/** What a resume needs of an event line: its resourceVersion, and whether it ends the initial events. */
function readEvent(line: string): { resourceVersion: string | undefined; initialEventsEnd: boolean } {
  let event: { type?: unknown; object?: { metadata?: EventMeta; rows?: { object?: { metadata?: EventMeta } }[] } };
  try {
    event = JSON.parse(line) as typeof event;
  } catch {
    return { resourceVersion: undefined, initialEventsEnd: false };
  }
  if (event.type === 'ERROR') return { resourceVersion: undefined, initialEventsEnd: false };
  const meta = event.object?.metadata;
  const rv = meta?.resourceVersion ?? event.object?.rows?.[0]?.object?.metadata?.resourceVersion;
  return {
    resourceVersion: typeof rv === 'string' && rv !== '' ? rv : undefined,
    initialEventsEnd: event.type === 'BOOKMARK' && meta?.annotations?.['k8s.io/initial-events-end'] === 'true',
  };
}

/** The resourceVersion an event line carries (objects, Tables, bookmarks), if any. */
export function eventResourceVersion(line: string): string | undefined {
  return readEvent(line).resourceVersion;
}

/** The Status a refusal carried, else one made from its status code. */
function refusalStatus(statusCode: number, body: Buffer): object {
  try {
    const parsed = JSON.parse(body.toString('utf8')) as { kind?: unknown };
    if (parsed.kind === 'Status') return parsed;
  } catch {
    // Not JSON: described below instead.
  }
  return statusObject(statusCode, statusCode === 410 ? 'Expired' : 'Unknown', `the watch could not be resumed (HTTP ${statusCode})`);
}

/** An ERROR watch event, as the apiserver ends a watch it cannot continue. */
export function errorEvent(status: object): Buffer {
  return Buffer.from(`${JSON.stringify({ type: 'ERROR', object: status })}\n`, 'utf8');
}

/** What kubectl reads when the tunnel stayed down longer than the resume budget. */
export const WATCH_GAVE_UP_MESSAGE =
  'arcproxy: the watch was cut and could not be resumed for 90 s (the tunnel to the cluster or the sign-in stayed unavailable); watch again (a client library re-watches by itself)';

/** Larger lines are read at once rather than kept until a resume needs them (memory per watch). */
const MAX_PENDING_BYTES = 16 * 1024;
const RESOURCE_VERSION_KEY = Buffer.from('"resourceVersion":"', 'utf8');
const ERROR_TYPE = Buffer.from('"ERROR"', 'utf8');
/** How an apiserver starts every event line (Go writes a WatchEvent's type first). */
const TYPE_FIRST = Buffer.from('{"type":"', 'utf8');

/** Whether lines may hold an ERROR event: one line that starts with its type is read from there, anything else searched. */
function mayHoldError(lines: Buffer): boolean {
  const single = lines.indexOf(0x0a) >= lines.length - 1;
  if (!single || lines.compare(TYPE_FIRST, 0, TYPE_FIRST.length, 0, TYPE_FIRST.length) !== 0) return lines.includes(ERROR_TYPE);
  return lines.compare(ERROR_TYPE, 0, ERROR_TYPE.length, TYPE_FIRST.length - 1, TYPE_FIRST.length - 1 + ERROR_TYPE.length) === 0;
}

/**
 * Whether lines surely carry a resourceVersion that readEvent finds: no ERROR event, and the first
 * `"resourceVersion":"` key is not empty (inside a JSON string the quotes would be escaped, so
 * these bytes are a key; an apiserver writes metadata, a Table's own included, before anything
 * else that could hold one, and every object and bookmark it sends has a resourceVersion).
 */
function surelyCarriesResourceVersion(lines: Buffer): boolean {
  if (mayHoldError(lines)) return false;
  const key = lines.indexOf(RESOURCE_VERSION_KEY);
  return key !== -1 && lines[key + RESOURCE_VERSION_KEY.length] !== 0x22;
}

/** Whether lines hold anything but whitespace (an event, in a JSON watch). */
function hasContent(lines: Buffer): boolean {
  for (let i = 0; i < lines.length; i++) {
    const byte = lines[i];
    if (byte !== 0x0a && byte !== 0x0d && byte !== 0x20 && byte !== 0x09) return true;
  }
  return false;
}

/**
 * A JSON watch as a resumable body: events pass whole and unchanged, and a resume asks for the
 * watch from the last resourceVersion the client got (bookmarks included). Reading it costs a
 * JSON parse, the largest part of relaying a small event (a fan-out to 1,000 watches is 1,000
 * events), so after the initial events an event is not parsed as it passes: the latest lines are
 * kept, copied (a view would pin the read buffer under them), and read only if a resume needs
 * them — or when lines follow that might not carry a resourceVersion of their own. A refusal
 * (410 Gone: that resourceVersion is too old; 403 after a role change...) reaches the client as
 * the apiserver would send it mid-watch: an ERROR event with the Status, then a clean end, so
 * kubectl prints it and a reflector relists. A spent budget ends the same way with a 503 Status.
 */
export function watchBody(path: string): ResumableBody {
  // A watch-list (sendInitialEvents=true) sends the current objects first, in no resourceVersion
  // order, until a BOOKMARK marks their end: cut before it, there is no safe place to resume from.
  // Until then every line is read as it passes, to see that bookmark.
  let initialEvents = new URL(path, 'http://x').searchParams.get('sendInitialEvents') === 'true';
  let lastRv: string | undefined;
  let sawEvent = false;
  /** Lines relayed but not read yet: they are the latest, so a resourceVersion in them is the one. */
  let pending: Buffer | undefined;

  /** Reads `lines` (the latest so far) in full. */
  const read = (lines: Buffer): void => {
    for (const line of lines.toString('utf8').split('\n')) {
      if (line.trim() === '') continue;
      const event = readEvent(line);
      lastRv = event.resourceVersion ?? lastRv;
      if (event.initialEventsEnd) initialEvents = false;
    }
  };

  return {
    lines(chunk) {
      if (initialEvents) {
        sawEvent ||= hasContent(chunk);
        read(chunk);
        return chunk;
      }
      // The kept lines are needed only if these may not supersede them.
      if (pending !== undefined && !surelyCarriesResourceVersion(chunk)) read(pending);
      pending = undefined;
      if (!hasContent(chunk)) return chunk;
      sawEvent = true;
      if (chunk.length > MAX_PENDING_BYTES) read(chunk);
      else pending = Buffer.from(chunk);
      return chunk;
    },
    resumePath() {
      if (pending !== undefined) {
        read(pending);
        pending = undefined;
      }
      // Nothing seen yet: the same watch again loses nothing.
      if (!sawEvent) return path;
      // Cut among the initial events, or after events without a resourceVersion: the client
      // starts over (a cut response; reflectors do exactly that).
      if (initialEvents || lastRv === undefined) return undefined;
      return resumePath(path, lastRv);
    },
    refused: (statusCode, body) => errorEvent(refusalStatus(statusCode, body)),
    gaveUp: () => errorEvent(statusObject(503, 'ServiceUnavailable', WATCH_GAVE_UP_MESSAGE)),
  };
}
