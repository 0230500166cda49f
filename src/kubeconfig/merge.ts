/** Adding arcproxy's cluster, user and context to a kubeconfig, leaving everything else as it was. */
import type { YAMLMap } from 'yaml';
import { assertValidEntry, clusterBody, contextBody, namedItem, userBody, type ProxyKubeconfigEntry } from './entry.js';
import { currentContext, findNamed, listOf, nameOf, setCurrentContext, type KubeconfigDocument, type ListKey } from './document.js';
import { updateKubeconfigFile, type FileState } from './update.js';
import { previousExtension, recordedPrevious } from './previous-context.js';
import { assertMergeable } from './ownership.js';

export interface MergeResult {
  file: string;
  /**
   * The context to restore on clean-up: current-context before the merge, or, when that was a
   * context of ours left by a killed session, what that session recorded. Undefined when none.
   */
  previousCurrentContext: string | undefined;
  /** An entry of the same name existed and was replaced. */
  replaced: boolean;
  /**
   * The file as it was before the merge and as the merge left it: a removal that finds the file
   * still exactly as the merge left it puts the user's bytes and mode back unchanged. Undefined
   * when the file did not exist or the merge replaced leftovers of a killed session.
   */
  undo: KubeconfigUndo | undefined;
}

export interface KubeconfigUndo {
  before: FileState;
  after: string;
}

export interface MergeOptions {
  /** Default true. */
  setCurrentContext?: boolean;
  /** Default 10000. */
  lockTimeoutMs?: number;
  /** Called once if another writer holds `<file>.lock`, so the caller can say it is waiting. */
  onLockWait?: (lockFile: string) => void;
  /** Stops a wait for the lock at once (a stop signal); the file is then left as it was. */
  signal?: AbortSignal;
  /** A notice that a lock left by a killed arcproxy was taken over (for the session's warnings). */
  onStaleLock?: (notice: string) => void;
}

/** Puts `body` under `kind` in the item named `name`, replacing that item's old body; appends a new item otherwise. */
function upsert(kc: KubeconfigDocument, key: ListKey, kind: string, name: string, body: YAMLMap): boolean {
  const list = listOf(kc, key, true);
  const existing = findNamed(list, name);
  if (existing) {
    // Keep the item node (and comments on it); replace only its body, which is entirely ours.
    existing.set(kind, body);
    // A second item of the same name would make kubectl's choice ambiguous.
    list.items = list.items.filter((item) => item === existing || nameOf(item) !== name);
  } else {
    // An empty `[]` would otherwise render our entries in flow style.
    if (list.items.length === 0) list.flow = false;
    list.items.push(namedItem(kc.doc, name, kind, body));
  }
  return existing !== undefined;
}

export function applyEntry(kc: KubeconfigDocument, entry: ProxyKubeconfigEntry, makeCurrent: boolean, file: string): Omit<MergeResult, 'file' | 'undo'> {
  assertMergeable(kc, entry, file);
  const current = currentContext(kc);
  // Our own name as current-context is a killed session's leftover: take over what it recorded.
  const previousCurrentContext = current === entry.contextName ? recordedPrevious(findNamed(listOf(kc, 'contexts'), current)) : current;
  const record = makeCurrent ? previousCurrentContext : undefined;
  const replacedCluster = upsert(kc, 'clusters', 'cluster', entry.clusterName, clusterBody(kc.doc, entry));
  const replacedUser = upsert(kc, 'users', 'user', entry.userName, userBody(kc.doc, entry));
  const replacedContext = upsert(kc, 'contexts', 'context', entry.contextName, contextBody(kc.doc, entry, previousExtension(kc.doc, record)));
  if (makeCurrent) setCurrentContext(kc, entry.contextName);
  return { previousCurrentContext, replaced: replacedCluster || replacedUser || replacedContext };
}

/** Adds or replaces (by name) the entry's cluster, user and context; by default makes it current. */
export async function mergeKubeconfig(file: string, entry: ProxyKubeconfigEntry, opts: MergeOptions = {}): Promise<MergeResult> {
  assertValidEntry(entry, file);
  const { result, before, written } = await updateKubeconfigFile(
    file,
    (kc) => ({ result: applyEntry(kc, entry, opts.setCurrentContext ?? true, file), changed: true }),
    { lockTimeoutMs: opts.lockTimeoutMs, onLockWait: opts.onLockWait, signal: opts.signal, onStaleLock: opts.onStaleLock },
  );
  // Only a merge that added entries can be undone by putting the old bytes back: one that replaced a
  // killed session's leftovers would put those back too.
  const undoable = before !== undefined && written !== undefined && !result.replaced;
  return { file, ...result, undo: undoable ? { before, after: written } : undefined };
}
