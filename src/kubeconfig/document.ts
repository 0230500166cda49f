/**
 * Parsing and validating a kubeconfig as a YAML Document (so comments, key order and styles
 * survive an edit), finding named entries in its lists, and writing it back in its own style.
 */
import { type Document, isMap, isScalar, isSeq, LineCounter, parseDocument, Scalar, YAMLMap, YAMLSeq, type Node } from 'yaml';
import { stringScalar } from './entry.js';
import { KubeconfigError } from './errors.js';

const LIST_KEYS = ['clusters', 'users', 'contexts'] as const;
export type ListKey = (typeof LIST_KEYS)[number];

export interface KubeconfigDocument {
  doc: Document;
  /** The top-level mapping (created when the file was empty). */
  root: YAMLMap;
  /** Whether the source indents `- ` items under their key (kubectl does not). */
  indentSeq: boolean;
}

type Position = { line: number; column: number };

function malformed(file: string, pos: Position | undefined, reason: string): KubeconfigError {
  const where = pos ? ` at line ${pos.line}, column ${pos.column}` : '';
  return new KubeconfigError(
    'ARCPROXY_KUBECONFIG_MALFORMED',
    `The kubeconfig ${file} is not valid${where}: ${reason}. arcproxy left the file unchanged; fix it, or pass --file to use another kubeconfig.`,
    { file, ...(pos ? pos : {}) },
  );
}

// yaml's messages can quote source text (which may be a credential): keep the part before any quote.
function safeReason(message: string): string {
  const cut = message.split(/: |\n/)[0] ?? message;
  return cut.length > 100 ? `${cut.slice(0, 100)}…` : cut;
}

/** Parses and validates; an empty or comment-only text yields an empty kubeconfig skeleton. */
export function parseKubeconfig(text: string, file: string): KubeconfigDocument {
  const lines = new LineCounter();
  // prettyErrors off: its messages embed the offending source line.
  const doc: Document = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  const at = (node: { range?: [number, number, number] | null } | null | undefined): Position | undefined => {
    const offset = node?.range?.[0];
    if (offset === undefined) return undefined;
    const p = lines.linePos(offset);
    return { line: p.line, column: p.col };
  };

  const first = doc.errors[0];
  if (first) {
    const p = lines.linePos(first.pos[0]);
    throw malformed(file, { line: p.line, column: p.col }, safeReason(first.message));
  }

  let root: YAMLMap;
  if (doc.contents === null || (isScalar(doc.contents) && doc.contents.value === null)) {
    root = new YAMLMap(doc.schema);
    doc.contents = root;
    addSkeleton(doc, root);
  } else if (isMap(doc.contents)) {
    root = doc.contents;
  } else {
    throw malformed(file, at(doc.contents as Node), 'the top level must be a mapping (apiVersion, kind, clusters, users, contexts, ...)');
  }

  for (const key of LIST_KEYS) {
    const list = root.get(key, true);
    if (list === undefined || (isScalar(list) && list.value === null)) continue;
    if (!isSeq(list)) throw malformed(file, at(list as Node), `${key} must be a list`);
    for (const item of list.items) {
      if (!isMap(item)) throw malformed(file, at(item as Node), `every item of ${key} must be a mapping with a name`);
      if (nameOf(item) === undefined) throw malformed(file, at(item), `an item of ${key} has no name`);
    }
  }
  const current = root.get('current-context', true);
  if (current !== undefined && !isScalar(current)) throw malformed(file, at(current as Node), 'current-context must be a string');

  return { doc, root, indentSeq: detectIndentSeq(root, lines) };
}

function addSkeleton(doc: Document, root: YAMLMap): void {
  root.set('apiVersion', 'v1');
  root.set('kind', 'Config');
  root.set('preferences', new YAMLMap(doc.schema));
  for (const key of LIST_KEYS) root.set(key, new YAMLSeq(doc.schema));
}

/** kubectl writes `clusters:\n- name:`; hand-written files often indent. Keep whichever the file uses. */
function detectIndentSeq(root: YAMLMap, lines: LineCounter): boolean {
  for (const pair of root.items) {
    const seq = pair.value;
    if (!isSeq(seq) || seq.flow || !seq.range || !isScalar(pair.key) || !pair.key.range) continue;
    return lines.linePos(seq.range[0]).col > lines.linePos(pair.key.range[0]).col;
  }
  return false;
}

export function nameOf(item: YAMLMap): string | undefined {
  const name = item.get('name', true);
  if (!isScalar(name) || name.value === null || name.value === undefined) return undefined;
  const text = String(name.value);
  return text === '' ? undefined : text;
}

/** The list under `key`, created (or turned from `null` into a list) when `create` is set. */
export function listOf(kc: KubeconfigDocument, key: ListKey, create: true): YAMLSeq<YAMLMap>;
export function listOf(kc: KubeconfigDocument, key: ListKey, create?: false): YAMLSeq<YAMLMap> | undefined;
export function listOf(kc: KubeconfigDocument, key: ListKey, create = false): YAMLSeq<YAMLMap> | undefined {
  const list = kc.root.get(key, true);
  if (isSeq(list)) return list as YAMLSeq<YAMLMap>;
  if (!create) return undefined;
  const seq = new YAMLSeq<YAMLMap>(kc.doc.schema);
  kc.root.set(key, seq);
  return seq;
}

export function findNamed(list: YAMLSeq<YAMLMap> | undefined, name: string): YAMLMap | undefined {
  return list?.items.find((item) => nameOf(item) === name);
}

/** A string field of an entry's body, e.g. clusters[].cluster.server. */
export function bodyField(item: YAMLMap | undefined, kind: string, field: string): string | undefined {
  const body = item?.get(kind, true);
  if (!isMap(body)) return undefined;
  const value = body.get(field, true);
  return isScalar(value) && value.value !== null && value.value !== undefined ? String(value.value) : undefined;
}

export function currentContext(kc: KubeconfigDocument): string | undefined {
  const node = kc.root.get('current-context', true);
  if (!isScalar(node) || node.value === null || node.value === undefined) return undefined;
  const text = String(node.value);
  return text === '' ? undefined : text;
}

export function setCurrentContext(kc: KubeconfigDocument, name: string | undefined): void {
  if (name === undefined) {
    kc.root.delete('current-context');
    return;
  }
  const existing = kc.root.get('current-context', true);
  if (isScalar(existing)) {
    // Edit in place so a comment on the line survives.
    existing.value = name;
    existing.type = stringScalar(name).type ?? Scalar.PLAIN;
  } else {
    kc.root.set('current-context', stringScalar(name));
  }
}

export function stringifyKubeconfig(kc: KubeconfigDocument): string {
  // lineWidth 0: never fold long base64 values or existing long lines.
  return kc.doc.toString({ lineWidth: 0, indentSeq: kc.indentSeq, flowCollectionPadding: false });
}
