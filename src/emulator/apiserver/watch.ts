/**
 * Watch responses: newline-delimited `{"type":...,"object":...}` events written as changes happen
 * (chunked, never buffered). A watch without a resourceVersion (or "0") starts with ADDED events
 * for what exists; with one, it replays only newer changes, or answers 410 Expired when those
 * left the history. `sendInitialEvents` ends the initial events with the annotated BOOKMARK that
 * client-go's watch-list expects.
 */
import type { ServerResponse } from 'node:http';
import type { ChangeEvent, ObjectStore, StoredObject } from './store.js';
import { statusObject } from './status.js';
import { toTable } from './table.js';
import { startStream } from './http.js';

export interface WatchRequest {
  kind: string;
  apiVersion: string;
  /** What exists now (for a watch that starts without a resourceVersion). */
  current: () => StoredObject[];
  /** allowWatchBookmarks: a BOOKMARK with the current resourceVersion every BOOKMARK_MS. */
  bookmarks: boolean;
  /** Which stored objects this watch sees (kind, namespace, selectors). */
  matches: (item: StoredObject) => boolean;
  /** as=Table: every event's object is a one-row Table. */
  table: boolean;
  includeObject: string;
  resourceVersion: string | null;
  timeoutSeconds: number;
  sendInitialEvents: boolean;
  now: () => number;
}

const BOOKMARK_MS = 30_000;

/** Serves the watch until the client goes, the timeout passes or the server ends `res`. */
export function serveWatch(res: ServerResponse, store: ObjectStore, w: WatchRequest): void {
  startStream(res, 'application/json');
  const write = (type: string, object: unknown) => res.write(`${JSON.stringify({ type, object })}\n`);
  const send = (type: string, item: StoredObject) =>
    write(type, w.table ? toTable([item], w.kind, Number(item.object.metadata.resourceVersion), w.now(), w.includeObject) : item.object);

  const since = w.resourceVersion && w.resourceVersion !== '0' ? Number(w.resourceVersion) : undefined;
  if (since !== undefined && (!Number.isFinite(since) || store.isCompacted(since))) {
    write('ERROR', statusObject(410, 'Expired', `too old resource version: ${w.resourceVersion} (${store.resourceVersion})`));
    res.end();
    return;
  }
  if (since === undefined) {
    for (const item of w.current()) if (w.matches(item)) send('ADDED', item);
    if (w.sendInitialEvents) {
      write('BOOKMARK', {
        kind: w.kind,
        apiVersion: w.apiVersion,
        metadata: { resourceVersion: String(store.resourceVersion), annotations: { 'k8s.io/initial-events-end': 'true' } },
      });
    }
  } else {
    for (const e of store.changesSince(since)) if (w.matches(e.item)) send(e.type, e.item);
  }

  const onChange = (e: ChangeEvent) => {
    if (w.matches(e.item)) send(e.type, e.item);
  };
  store.on('change', onChange);
  const timer = w.timeoutSeconds > 0 ? setTimeout(() => res.end(), w.timeoutSeconds * 1000) : undefined;
  const bookmarks = w.bookmarks
    ? setInterval(
        () => write('BOOKMARK', { kind: w.kind, apiVersion: w.apiVersion, metadata: { resourceVersion: String(store.resourceVersion) } }),
        BOOKMARK_MS,
      )
    : undefined;
  res.once('close', () => {
    store.off('change', onChange);
    if (timer) clearTimeout(timer);
    if (bookmarks) clearInterval(bookmarks);
  });
}
