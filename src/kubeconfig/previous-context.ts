/**
 * The context to go back to, recorded in arcproxy's own context as a named extension (as
 * minikube records its context_info), so it survives the process: a run after a SIGKILL, or a
 * second session stacked on the first, still finds the user's own context to restore.
 */
import { isMap, isScalar, isSeq, YAMLMap, YAMLSeq, type Document } from 'yaml';
import { stringScalar } from './entry.js';
import { listOf, nameOf, type KubeconfigDocument } from './document.js';

const EXTENSION_NAME = 'arcproxy';
const FIELD = 'previous-context';

function extensionOf(context: YAMLMap | undefined): YAMLMap | undefined {
  const body = context?.get('context', true);
  const list = isMap(body) ? body.get('extensions', true) : undefined;
  if (!isSeq(list)) return undefined;
  const item = list.items.find((i): i is YAMLMap => isMap(i) && nameOf(i) === EXTENSION_NAME);
  const ext = item?.get('extension', true);
  return isMap(ext) ? ext : undefined;
}

/** What an arcproxy context recorded as the current-context before it; undefined when none. */
export function recordedPrevious(context: YAMLMap | undefined): string | undefined {
  const value = extensionOf(context)?.get(FIELD, true);
  return isScalar(value) && typeof value.value === 'string' && value.value !== '' ? value.value : undefined;
}

/** The `extensions` list for a new context body; undefined when there is nothing to record. */
export function previousExtension(doc: Document, previous: string | undefined): YAMLSeq | undefined {
  if (previous === undefined) return undefined;
  const ext = new YAMLMap(doc.schema);
  ext.add(doc.createPair(FIELD, stringScalar(previous)));
  const item = new YAMLMap(doc.schema);
  item.add(doc.createPair('name', stringScalar(EXTENSION_NAME)));
  item.add(doc.createPair('extension', ext));
  const list = new YAMLSeq(doc.schema);
  list.items.push(item);
  return list;
}

/**
 * `removed` is leaving: every arcproxy context that would go back to it goes back to what
 * `removed` would have gone back to instead, so stacked sessions can stop in any order.
 */
export function spliceOut(kc: KubeconfigDocument, removed: string, itsPrevious: string | undefined): void {
  for (const context of listOf(kc, 'contexts')?.items ?? []) {
    const ext = extensionOf(context);
    if (!ext || recordedPrevious(context) !== removed) continue;
    if (itsPrevious === undefined) ext.delete(FIELD);
    else ext.set(FIELD, stringScalar(itsPrevious));
  }
}
