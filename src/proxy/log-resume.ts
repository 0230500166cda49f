/**
 * Keeps `logs -f` going across relay drops, credential renewals and agent restarts. The agent is
 * always asked for timestamps (`timestamps=true`), which are stripped again unless the client asked
 * for them; when the stream is cut, the log is asked for again with `sinceTime=<last timestamp>`.
 * The apiserver passes sinceTime to the kubelet to the second and includes that second, so the
 * resumed log starts with lines already sent: those earlier than the last timestamp are dropped,
 * and so are, in order, those at the last timestamp with the same text as the ones sent. Nothing
 * is lost or repeated.
 *
 * Resumed: GET pods/log with follow, without limitBytes (the byte count would be off) or previous.
 * Beyond the outage budget the response is cut, so kubectl reports an error rather than the clean
 * end that means the container stopped. A 404 on resume (the pod is gone) ends it cleanly, as the
 * log of a deleted pod ends.
 */
import type { ResumableBody } from './resumable-relay.js';

const LOG_PATH = /^\/api\/v1\/namespaces\/[^/]+\/pods\/[^/]+\/log$/;
const TIMESTAMP = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/;
/** Texts kept for the lines at the last timestamp; beyond, those lines are matched by position only. */
const MAX_KEPT_BYTES = 1024 * 1024;

/** A boolean query parameter as the apiserver reads it (Go's strconv.ParseBool). */
function goBool(value: string | null): boolean {
  return value !== null && ['1', 't', 'T', 'true', 'TRUE', 'True'].includes(value);
}

/** A `logs -f` request that can be resumed (decided on the request, before it is sent). */
export function isResumableLog(method: string | undefined, path: string): boolean {
  if ((method ?? 'GET').toUpperCase() !== 'GET' || !path.includes('/log')) return false;
  const url = new URL(path, 'http://x');
  const q = url.searchParams;
  return LOG_PATH.test(url.pathname) && goBool(q.get('follow')) && !goBool(q.get('previous')) && !q.has('limitBytes');
}

/** The log request as sent to the agent: with timestamps. */
export function timestampedLogPath(path: string): string {
  const url = new URL(path, 'http://x');
  url.searchParams.set('timestamps', 'true');
  return `${url.pathname}${url.search}`;
}

/** A timestamp's instant as [whole seconds in ms, nanoseconds], or undefined when it is not one. */
export function timestampInstant(ts: string): [number, number] | undefined {
  const m = TIMESTAMP.exec(ts);
  if (!m) return undefined;
  const seconds = Date.parse(`${m[1]}${m[3]}`);
  return Number.isNaN(seconds) ? undefined : [seconds, Number((m[2] ?? '').padEnd(9, '0'))];
}

function compareInstants(a: [number, number], b: [number, number]): number {
  return a[0] - b[0] || a[1] - b[1];
}

/**
 * A followed log as a resumable body. `path` is the client's request (before timestampedLogPath):
 * its `timestamps` says whether the client sees them.
 */
export function logBody(path: string): ResumableBody {
  const keepTimestamps = goBool(new URL(path, 'http://x').searchParams.get('timestamps'));
  /** The last timestamp sent, as written and as an instant. */
  let last: { text: string; at: [number, number] } | undefined;
  /** Texts of the lines sent at `last` (up to MAX_KEPT_BYTES), and how many there were. */
  let atLast: string[] = [];
  let keptBytes = 0;
  let countAtLast = 0;
  /** While a resumed log replays what was sent: how many lines at `last` it has replayed. */
  let replayed: number | undefined;

  /** Whether a line (timestamp `ts`, text `text`) was sent before the resume. */
  const alreadySent = (at: [number, number], text: string): boolean => {
    if (replayed === undefined || last === undefined) return false;
    const order = compareInstants(at, last.at);
    if (order < 0) return true;
    if (order === 0 && replayed < countAtLast) {
      const kept = atLast[replayed];
      if (kept === undefined || kept === text) {
        replayed++;
        return true;
      }
    }
    // The first line not sent before: the rest are new.
    replayed = undefined;
    return false;
  };

  const note = (ts: string, at: [number, number], text: string): void => {
    if (last !== undefined && compareInstants(at, last.at) === 0) {
      countAtLast++;
    } else {
      last = { text: ts, at };
      atLast = [];
      keptBytes = 0;
      countAtLast = 1;
    }
    if (keptBytes < MAX_KEPT_BYTES) {
      atLast.push(text);
      keptBytes += text.length;
    }
  };

  return {
    lines(chunk) {
      const out: string[] = [];
      const all = chunk.toString('utf8');
      for (let from = 0; from < all.length;) {
        const nl = all.indexOf('\n', from);
        const end = nl === -1 ? all.length : nl + 1;
        const line = all.slice(from, end);
        from = end;
        const space = line.indexOf(' ');
        const ts = space === -1 ? '' : line.slice(0, space);
        const at = timestampInstant(ts);
        if (at === undefined) {
          // Not a timestamped line (the kubelet always writes one): passed as it is.
          out.push(line);
          continue;
        }
        const text = line.slice(space + 1);
        if (alreadySent(at, text)) continue;
        note(ts, at, text);
        out.push(keepTimestamps ? line : text);
      }
      return Buffer.from(out.join(''), 'utf8');
    },
    resumePath() {
      const url = new URL(timestampedLogPath(path), 'http://x');
      if (last !== undefined) {
        url.searchParams.delete('tailLines');
        url.searchParams.delete('sinceSeconds');
        url.searchParams.set('sinceTime', last.text);
        replayed = 0;
      }
      return `${url.pathname}${url.search}`;
    },
    refused: (statusCode) => (statusCode === 404 ? Buffer.alloc(0) : undefined),
    gaveUp: () => undefined,
  };
}
