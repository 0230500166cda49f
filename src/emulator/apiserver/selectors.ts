/**
 * Label and field selectors, as the apiserver reads `labelSelector=` and `fieldSelector=`.
 * Labels: `k=v`, `k==v`, `k!=v`, `k in (a,b)`, `k notin (a,b)`, `k`, `!k`.
 * Fields: `=`, `==`, `!=` on the fields the caller supplies (field-selectors.ts says which a kind has).
 */

export type Selector = (labels: Readonly<Record<string, string>>, fields: Readonly<Record<string, string>>) => boolean;

/** Splits on commas that are not inside parentheses (`a in (x,y),b=c`). */
function terms(selector: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of selector) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      out.push(current.trim());
      current = '';
    } else current += ch;
  }
  if (current.trim()) out.push(current.trim());
  return out.filter(Boolean);
}

function labelTerm(term: string): (labels: Readonly<Record<string, string>>) => boolean {
  const set = /^([\w./-]+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(term);
  if (set) {
    const values = set[3]!.split(',').map((v) => v.trim());
    const key = set[1]!;
    return set[2] === 'in' ? (l) => key in l && values.includes(l[key]!) : (l) => !(key in l) || !values.includes(l[key]!);
  }
  const eq = /^([\w./-]+)\s*(==|=|!=)\s*(.*)$/.exec(term);
  if (eq) {
    const [, key, op, value] = eq as unknown as [string, string, string, string];
    return op === '!=' ? (l) => l[key] !== value : (l) => l[key] === value;
  }
  if (term.startsWith('!')) {
    const key = term.slice(1).trim();
    return (l) => !(key in l);
  }
  return (l) => term in l;
}

const FIELD_TERM = /^([\w.]+)\s*(==|=|!=)\s*(.*)$/;

/** The field names a field selector uses (`status.phase=Running,metadata.name!=x` → both). */
export function selectorFields(fieldSelector: string | null): string[] {
  return terms(fieldSelector ?? '').map((t) => FIELD_TERM.exec(t)?.[1] ?? t);
}

function fieldTerm(term: string): (fields: Readonly<Record<string, string>>) => boolean {
  const m = FIELD_TERM.exec(term);
  if (!m) return () => false;
  const [, field, op, value] = m as unknown as [string, string, string, string];
  return op === '!=' ? (f) => f[field] !== value : (f) => f[field] === value;
}

/** One predicate for both selectors; absent or empty selectors match everything. */
export function parseSelectors(labelSelector: string | null, fieldSelector: string | null): Selector {
  const labelTests = terms(labelSelector ?? '').map(labelTerm);
  const fieldTests = terms(fieldSelector ?? '').map(fieldTerm);
  return (labels, fields) => labelTests.every((t) => t(labels)) && fieldTests.every((t) => t(fields));
}
