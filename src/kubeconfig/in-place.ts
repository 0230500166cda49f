/**
 * Writing an edited kubeconfig as a patch of its own text, so that while a session runs only
 * arcproxy's entries differ from the user's file: comment spacing, blank lines, quoting and key
 * order elsewhere stay byte for byte. Handles what a session does (items added at the end of a
 * block list, items of ours replaced or removed, current-context set, changed or removed); for
 * anything else (a flow-style or missing list, an empty file) it answers undefined and the caller
 * writes the whole document. The patched text is parsed again and must equal the edited
 * document, so a patch can never write something other than what the edit meant.
 */
import { isDeepStrictEqual } from 'node:util';
import { Document, isMap, isScalar, isSeq, parseDocument, Scalar as YAMLScalar, YAMLSeq, type Pair, type Scalar, type YAMLMap } from 'yaml';
import type { KubeconfigDocument } from './document.js';

const LIST_KEYS = new Set(['clusters', 'users', 'contexts']);
const CURRENT = 'current-context';

interface Splice {
  start: number;
  end: number;
  text: string;
}

type Range = [number, number, number];

// A key set by the edit (YAMLMap.set) is a plain string, one from the source a Scalar.
const keyOf = (pair: Pair): string | undefined => (isScalar(pair.key) ? String(pair.key.value) : typeof pair.key === 'string' ? pair.key : undefined);
const lineStart = (text: string, offset: number): number => text.lastIndexOf('\n', offset - 1) + 1;
function lineEnd(text: string, offset: number): number {
  const nl = text.indexOf('\n', offset);
  return nl < 0 ? text.length : nl + 1;
}

/** One list item as block YAML, its `- ` at `column`. */
function renderItem(item: YAMLMap, column: number): string {
  const doc = new Document();
  const seq = new YAMLSeq();
  seq.items.push(item);
  doc.contents = seq;
  const text = doc.toString({ lineWidth: 0, indentSeq: false, flowCollectionPadding: false });
  const pad = ' '.repeat(column);
  return text
    .split('\n')
    .map((line) => (line === '' ? line : pad + line))
    .join('\n');
}

/** A scalar's own text, without the comments around it (those stay where they are in the source). */
function renderScalar(node: Scalar): string {
  const bare = new YAMLScalar(node.value);
  if (node.type) bare.type = node.type;
  const doc = new Document();
  doc.contents = bare;
  return doc.toString({ lineWidth: 0 }).replace(/\n$/, '');
}

/** The new text of one block list: kept items as they were, ours re-rendered or dropped, new ones at the end. */
function patchList(source: string, edited: YAMLSeq, original: YAMLSeq, kc: KubeconfigDocument, pristine: Document): Splice | undefined {
  const originals = original.items as YAMLMap[];
  if (originals.length === 0 || !originals.every((i) => isMap(i) && i.range)) return undefined;
  const byStart = new Map(originals.map((item, index) => [(item.range as Range)[0], index]));
  const kept = new Map<number, YAMLMap>();
  const added: YAMLMap[] = [];
  let last = -1;
  for (const item of edited.items as YAMLMap[]) {
    const index = item.range ? byStart.get(item.range[0]) : undefined;
    if (index === undefined) {
      if (item.range) return undefined;
      added.push(item);
      continue;
    }
    // Kept items keep their order, and every new item comes after them.
    if (index <= last || added.length > 0) return undefined;
    last = index;
    kept.set(index, item);
  }
  const first = (originals[0]!.range as Range)[0];
  const regionStart = lineStart(source, first);
  let out = '';
  let prevEnd = regionStart;
  let column = 0;
  for (const [index, item] of originals.entries()) {
    const [start, , end] = item.range as Range;
    const itemLine = lineStart(source, start);
    const indicator = /^( *)- +$/.exec(source.slice(itemLine, start));
    if (!indicator || itemLine < prevEnd) return undefined;
    column = indicator[1]!.length;
    // Comments and blank lines before an item stay, even when the item goes.
    out += source.slice(prevEnd, itemLine);
    const now = kept.get(index);
    if (now) out += isDeepStrictEqual(now.toJS(kc.doc), item.toJS(pristine)) ? source.slice(itemLine, end) : renderItem(now, column);
    prevEnd = end;
  }
  if (added.length > 0) {
    if (out !== '' && !out.endsWith('\n')) out += '\n';
    for (const item of added) out += renderItem(item, column);
  }
  return { start: regionStart, end: prevEnd, text: out };
}

function patchCurrentContext(source: string, edited: Pair | undefined, original: Pair | undefined): Splice | undefined | 'fail' {
  const now = edited && isScalar(edited.value) ? edited.value : undefined;
  const was = original && isScalar(original.value) ? original.value : undefined;
  if (edited && !now) return 'fail';
  if (original && (!was || !was.range || !isScalar(original.key) || !original.key.range)) return 'fail';
  if (now && was) {
    if (now.value === was.value) return undefined;
    return { start: was.range![0], end: was.range![1], text: renderScalar(now) };
  }
  if (was) {
    const start = lineStart(source, (original!.key as Scalar).range![0]);
    const end = lineEnd(source, was.range![1]);
    // The last line of a file without a final newline: take the newline before it instead.
    if (end === source.length && !source.endsWith('\n') && start > 0) return { start: start - 1, end, text: '' };
    return { start, end, text: '' };
  }
  if (now) {
    // Appended as the file ends: with a final newline only if it had one.
    const line = `${CURRENT}: ${renderScalar(now)}`;
    const text = source === '' ? `${line}\n` : source.endsWith('\n') ? `${line}\n` : `\n${line}`;
    return { start: source.length, end: source.length, text };
  }
  return undefined;
}

/** `key: [{...}, ...]` with new items at its end: `, {...}` after the last one, in flow style like the rest. */
function appendToFlowList(original: YAMLSeq, edited: YAMLSeq, kc: KubeconfigDocument, pristine: Document): Splice | 'same' | undefined {
  const originals = original.items as YAMLMap[];
  const last = originals[originals.length - 1];
  if (!last?.range) return undefined;
  const kept = edited.items.slice(0, originals.length) as YAMLMap[];
  const sameKept = kept.every(
    (item, i) => item === edited.items[i] && item.range?.[0] === originals[i]!.range?.[0] && isDeepStrictEqual(item.toJS(kc.doc), originals[i]!.toJS(pristine)),
  );
  if (!sameKept || kept.length !== originals.length) return undefined;
  const added = edited.items.slice(originals.length) as YAMLMap[];
  if (added.length === 0) return 'same';
  if (added.some((i) => !isMap(i) || i.range)) return undefined;
  const doc = new Document();
  const seq = new YAMLSeq();
  seq.flow = true;
  seq.items.push(...added);
  doc.contents = seq;
  const inner = doc
    .toString({ lineWidth: 0, flowCollectionPadding: false })
    .trim()
    .replace(/^\[|\]$/g, '');
  return { start: last.range[1], end: last.range[1], text: `, ${inner}` };
}

/** `key: []` or `key:` (null) that now has items: `key:` and the items below it, in kubectl's layout. */
function fillEmptyList(original: Pair, edited: YAMLSeq): Splice | undefined {
  const keyRange = (original.key as Scalar).range;
  const valueRange = (original.value as YAMLSeq | Scalar).range;
  if (!keyRange || !valueRange || edited.items.some((i) => !isMap(i) || i.range)) return undefined;
  const items = (edited.items as YAMLMap[]).map((item) => renderItem(item, 0)).join('');
  return { start: keyRange[1], end: valueRange[1], text: `:\n${items.replace(/\n$/, '')}` };
}

/** `source` with only what the edit of `kc` changed rewritten; undefined when that cannot be done safely. */
export function patchInPlace(source: string, kc: KubeconfigDocument): string | undefined {
  const pristine = parseDocument(source);
  const root = pristine.contents;
  if (pristine.errors.length > 0 || !isMap(root) || !root.range || kc.root.range?.[0] !== root.range[0]) return undefined;
  const editedPairs = kc.root.items.filter((p) => keyOf(p) !== CURRENT);
  const originalPairs = root.items.filter((p) => keyOf(p) !== CURRENT);
  if (editedPairs.length !== originalPairs.length) return undefined;
  const splices: Splice[] = [];
  for (const [i, pair] of editedPairs.entries()) {
    const before = originalPairs[i]!;
    const key = keyOf(pair);
    if (key === undefined || key !== keyOf(before)) return undefined;
    const value = pair.value as { range?: Range | null } | null;
    const was = before.value as { range?: Range | null } | null;
    // A list that was null (`clusters:`, `~`, `null`) and now holds our items.
    if (LIST_KEYS.has(key) && isSeq(pair.value) && !pair.value.range && isScalar(before.value) && before.value.value === null) {
      const splice = fillEmptyList(before, pair.value);
      if (!splice) return undefined;
      splices.push(splice);
      continue;
    }
    // Otherwise the same node as in the source (ranges match), or the edit replaced it: then only whole documents do.
    if (value?.range?.[0] !== was?.range?.[0]) return undefined;
    if (!LIST_KEYS.has(key)) continue;
    if (isSeq(pair.value) && isSeq(before.value) && before.value.flow && before.value.items.length === 0 && !pair.value.flow) {
      const splice = fillEmptyList(before, pair.value);
      if (!splice) return undefined;
      splices.push(splice);
      continue;
    }
    if (isSeq(pair.value) && isSeq(before.value) && before.value.flow && pair.value.flow) {
      const splice = appendToFlowList(before.value, pair.value, kc, pristine);
      if (splice === 'same') continue;
      if (!splice) return undefined;
      splices.push(splice);
      continue;
    }
    if (!isSeq(pair.value) || !isSeq(before.value) || before.value.flow || pair.value.flow) {
      if (isDeepStrictEqual(kc.doc.get(key), pristine.get(key))) continue;
      return undefined;
    }
    const splice = patchList(source, pair.value, before.value, kc, pristine);
    if (!splice) return undefined;
    splices.push(splice);
  }
  const current = patchCurrentContext(
    source,
    kc.root.items.find((p) => keyOf(p) === CURRENT),
    root.items.find((p) => keyOf(p) === CURRENT),
  );
  if (current === 'fail') return undefined;
  if (current) splices.push(current);

  let text = source;
  for (const s of splices.sort((a, b) => b.start - a.start)) text = text.slice(0, s.start) + s.text + text.slice(s.end);
  // The patch must mean exactly what the edited document means.
  const check = parseDocument(text);
  if (check.errors.length > 0 || !isDeepStrictEqual(check.toJS(), kc.doc.toJS())) return undefined;
  return text;
}
