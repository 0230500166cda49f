/** Taking arcproxy's entry out of a kubeconfig again, but only while it is still the one we wrote. */
import type { YAMLMap, YAMLSeq } from 'yaml';
import { assertValidEntry, type EntryNames } from './entry.js';
import { bodyField, currentContext, findNamed, listOf, setCurrentContext, type KubeconfigDocument } from './document.js';
import { updateKubeconfigFile } from './update.js';
import { recordedPrevious, spliceOut } from './previous-context.js';
import { isOurUser } from './ownership.js';
import type { KubeconfigUndo } from './merge.js';

export interface RemoveOptions {
  /** The context to make current again if ours still is (ignored when it no longer exists). */
  restoreCurrentContext?: string | undefined;
  lockTimeoutMs?: number;
  onLockWait?: (lockFile: string) => void;
  /** A notice that a lock left by a killed arcproxy was taken over. */
  onStaleLock?: (notice: string) => void;
  /** The merge's record: when the file is still exactly as the merge left it, its old bytes and mode come back. */
  undo?: KubeconfigUndo | undefined;
}

function removeItem(list: YAMLSeq<YAMLMap> | undefined, item: YAMLMap | undefined): boolean {
  if (!list || !item) return false;
  const index = list.items.indexOf(item);
  if (index < 0) return false;
  list.items.splice(index, 1);
  // A comment written above our item usually introduces what follows it: keep it.
  if (item.commentBefore) {
    const next = list.items[index];
    if (next) next.commentBefore = next.commentBefore ? `${item.commentBefore}\n${next.commentBefore}` : item.commentBefore;
    else list.comment = list.comment ? `${item.commentBefore}\n${list.comment}` : item.commentBefore;
  }
  return true;
}

/**
 * Ownership is decided by the cluster: it is ours while its server is still the one we wrote. A
 * newer session that re-used the names (another port or cluster) has another server and keeps
 * its entries. With the cluster already gone, the context decides, if it still points at us.
 */
function removeEntry(kc: KubeconfigDocument, entry: EntryNames, restore: string | undefined): boolean {
  const clusters = listOf(kc, 'clusters');
  const users = listOf(kc, 'users');
  const contexts = listOf(kc, 'contexts');
  const cluster = findNamed(clusters, entry.clusterName);
  const context = findNamed(contexts, entry.contextName);
  const contextIsOurs =
    context !== undefined && bodyField(context, 'context', 'cluster') === entry.clusterName && bodyField(context, 'context', 'user') === entry.userName;
  const ours = cluster ? bodyField(cluster, 'cluster', 'server') === entry.server : context === undefined || contextIsOurs;
  if (!ours) return false;

  // The file's record is newer than the caller's memory (another session may have left since).
  const previous = (contextIsOurs ? recordedPrevious(context) : undefined) ?? restore;
  const removedCluster = removeItem(clusters, cluster);
  const user = findNamed(users, entry.userName);
  // A user the user made meanwhile under our name is theirs to keep.
  const removedUser = user !== undefined && isOurUser(user) && removeItem(users, user);
  const removedContext = contextIsOurs && removeItem(contexts, context);
  if (removedContext) spliceOut(kc, entry.contextName, previous);

  // current-context still naming our (now absent) context would leave kubectl pointing nowhere.
  let resetCurrent = false;
  if ((removedContext || context === undefined) && currentContext(kc) === entry.contextName) {
    const back = previous && previous !== entry.contextName && findNamed(contexts, previous) ? previous : undefined;
    setCurrentContext(kc, back);
    resetCurrent = true;
  }
  return removedCluster || removedUser || removedContext || resetCurrent;
}

/** Removes the entry's cluster, user and context while they are still ours, and restores current-context. */
export async function removeKubeconfigEntries(
  file: string,
  entry: EntryNames,
  opts: RemoveOptions = {},
): Promise<{ removed: boolean; /** current-context afterwards (undefined when unset) */ currentContext?: string }> {
  assertValidEntry(entry, file);
  const { undo } = opts;
  const outcome = await updateKubeconfigFile(
    file,
    (kc, before) => {
      const changed = removeEntry(kc, entry, opts.restoreCurrentContext);
      const current = currentContext(kc);
      const result = { removed: changed, ...(current !== undefined ? { currentContext: current } : {}) };
      // Nobody wrote since the merge: the user's own bytes (comments, spacing, BOM, CRLF) and mode come back exactly.
      if (changed && undo && before?.text === undo.after) return { result, changed, replaceWith: undo.before };
      return { result, changed };
    },
    {
      lockTimeoutMs: opts.lockTimeoutMs,
      onLockWait: opts.onLockWait,
      onStaleLock: opts.onStaleLock,
      ifMissing: (): { removed: boolean; currentContext?: string } => ({ removed: false }),
    },
  );
  return outcome.result;
}
