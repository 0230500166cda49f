/**
 * Keeps a JSON watch alive across a relay drop. A watch is a stream of newline-delimited events,
 * each carrying a resourceVersion; when the stream under it dies mid-response, the same watch is
 * sent again from the last resourceVersion kubectl has seen and the new events continue the same
 * response. That is exactly what a reflector would do after re-watching, so nothing is lost or
 * repeated; kubectl `get -w`, which never re-watches by itself, keeps working.
 *
 * Events are forwarded whole, as soon as their newline arrives (the apiserver writes one event per
 * write, so this adds no delay): a cut can then never leave half an event in front of the resumed
 * ones. Anything else (protobuf or CBOR watches, an event over MAX_EVENT_BYTES, a resume that is
 * refused, too many resumes without progress) falls back to ending the response abruptly, so the
 * client sees the failure and re-lists.
 */
import type { ServerResponse } from 'node:http';
import { headerValue } from './headers.js';
import type { UpstreamResponse } from './upstream-response.js';

/** Largest event held while waiting for its newline; a bigger one turns resumption off. */
const MAX_EVENT_BYTES = 16 * 1024 * 1024;
/** Resumes in a row without a new event before giving up. */
const MAX_RESUMES_WITHOUT_PROGRESS = 4;
const RESUME_DELAYS_MS = [0, 100, 300, 1_000];
/**
 * A stream that carried the watch this long was working: its cut (a relay drop, or the hybrid
 * connection deleted at its credential's expiry, close 1001) starts the count afresh, so a quiet
 * watch outlives any number of credentials.
 */
const WORKED_FOR_MS = 2_000;

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

/** The resourceVersion an event line carries (objects, Tables, bookmarks), if any. */
export function eventResourceVersion(line: string): string | undefined {
  let event: { type?: unknown; object?: { metadata?: { resourceVersion?: unknown }; rows?: { object?: { metadata?: { resourceVersion?: unknown } } }[] } };
  try {
    event = JSON.parse(line) as typeof event;
  } catch {
    return undefined;
  }
  if (event.type === 'ERROR') return undefined;
  const rv = event.object?.metadata?.resourceVersion ?? event.object?.rows?.[0]?.object?.metadata?.resourceVersion;
  return typeof rv === 'string' && rv !== '' ? rv : undefined;
}

export interface WatchRelayOptions {
  /** The original upstream path (prefix already stripped). */
  path: string;
  /** Sends the watch again on a fresh stream; resolves with its response (body paused). */
  reopen: (path: string) => Promise<UpstreamResponse>;
  onBytes?: (n: number) => void;
}

/** Relays `first`'s body into `res` (headers already written), resuming when it is cut. */
export function relayWatch(first: UpstreamResponse, res: ServerResponse, opts: WatchRelayOptions): void {
  const initial = new URL(opts.path, 'http://x').searchParams.get('resourceVersion');
  let lastRv: string | undefined;
  let sawEvent = false;
  let resumable = true;
  let resumesWithoutProgress = 0;

  const attach = (upRes: UpstreamResponse): void => {
    const attachedAt = Date.now();
    let partial: Buffer[] = [];
    let partialBytes = 0;
    const resumeUp = (): void => upRes.resume();
    const write = (bytes: Buffer): void => {
      if (res.destroyed) return;
      if (!res.write(bytes)) {
        upRes.pause();
        res.once('drain', resumeUp);
      }
    };

    upRes.on('data', (chunk: Buffer) => {
      opts.onBytes?.(chunk.length);
      if (!resumable) {
        write(chunk);
        return;
      }
      const nl = chunk.lastIndexOf(0x0a);
      if (nl === -1) {
        partial.push(chunk);
        partialBytes += chunk.length;
        if (partialBytes > MAX_EVENT_BYTES) {
          // Too big to hold: pass it on and give up resuming this watch.
          resumable = false;
          write(Buffer.concat(partial, partialBytes));
          partial = [];
          partialBytes = 0;
        }
        return;
      }
      const complete = partialBytes > 0 ? Buffer.concat([...partial, chunk.subarray(0, nl + 1)]) : chunk.subarray(0, nl + 1);
      const rest = chunk.subarray(nl + 1);
      partial = rest.length > 0 ? [rest] : [];
      partialBytes = rest.length;
      for (const line of complete.toString('utf8').split('\n')) {
        if (line.trim() === '') continue;
        sawEvent = true;
        const rv = eventResourceVersion(line);
        if (rv !== undefined) {
          lastRv = rv;
          resumesWithoutProgress = 0;
        }
      }
      write(complete);
    });

    upRes.on('end', () => {
      if (partialBytes > 0) write(Buffer.concat(partial, partialBytes));
      if (!res.destroyed) res.end();
    });
    upRes.on('close', () => {
      if (upRes.complete || res.destroyed) return;
      const from = lastRv ?? (sawEvent ? undefined : (initial ?? ''));
      if (!resumable || from === undefined) {
        res.destroy();
        return;
      }
      if (Date.now() - attachedAt >= WORKED_FOR_MS) resumesWithoutProgress = 0;
      resume(lastRv === undefined ? opts.path : resumePath(opts.path, lastRv));
    });
    upRes.resume();
  };

  /** Sends the watch again; a failed try (the new stream was dropped too) is retried a few times. */
  const resume = (path: string): void => {
    if (resumesWithoutProgress >= MAX_RESUMES_WITHOUT_PROGRESS) {
      res.destroy();
      return;
    }
    // The first try waits one turn, so streams dropped with this one have reported their close.
    const delay = RESUME_DELAYS_MS[resumesWithoutProgress] ?? 0;
    resumesWithoutProgress++;
    const timer = setTimeout(() => {
      res.off('close', cancel);
      if (res.destroyed) return;
      opts.reopen(path).then(
        (next) => {
          if (res.destroyed) {
            next.destroy();
          } else if (next.statusCode === 200) {
            attach(next);
          } else {
            // Refused (410 Gone, 403 after a role change...): the client must start over.
            next.destroy();
            res.destroy();
          }
        },
        () => resume(path),
      );
    }, delay);
    const cancel = (): void => clearTimeout(timer);
    res.once('close', cancel);
  };

  attach(first);
}
