/**
 * The report of `arcproxy diagnose`, for people (text, meant to be pasted into an issue) or for
 * scripts (`-o json`). Stages say what they saw without secrets already; everything is passed
 * through the redaction once more here, so a token that slipped into a message or a header
 * value never reaches the report.
 */
import { redactSecrets } from '../errors/index.js';
import type { Diagnosis, StageReport } from '../session/diagnose.js';

/** `Name: value` lines whose value is a credential, whatever it looks like. */
const SECRET_HEADER_LINE = /^(authorization|proxy-authorization|servicebusauthorization|cookie|set-cookie)\s*:/i;

/** A copy with every string redacted. */
function redactDeep(value: unknown): unknown {
  if (typeof value === 'string') {
    const m = SECRET_HEADER_LINE.exec(value);
    return m ? `${value.slice(0, m[0].length)} [redacted]` : redactSecrets(value);
  }
  if (Array.isArray(value)) return value.map(redactDeep);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, redactDeep(v)]));
  }
  return value;
}

export function renderDiagnosisJson(diagnosis: Diagnosis): string {
  const d = redactDeep(diagnosis) as Diagnosis;
  const failed = d.stages.find((s) => s.status === 'fail');
  return `${JSON.stringify({ ...d, result: { ok: !failed, exitCode: d.exitCode, ...(failed ? { failedStage: failed.id } : {}) } }, null, 2)}\n`;
}

const MARK: Record<StageReport['status'], string> = { ok: 'OK  ', fail: 'FAIL', skipped: 'SKIP' };

/** Non-printing characters (other than line breaks and tabs) shown as escapes, so a body cannot move the terminal's cursor. */
function printable(text: string): string {
  let out = '';
  for (const c of text) {
    const code = c.charCodeAt(0);
    const control = (code < 0x20 && c !== '\t' && c !== '\n') || (code >= 0x7f && code <= 0x9f);
    out += control ? `\\u${code.toString(16).padStart(4, '0')}` : c;
  }
  return out;
}

/** YAML-like lines for a stage's details. */
function renderValue(value: unknown, indent: string): string[] {
  if (Array.isArray(value)) {
    if (value.length === 0) return [`${indent}(none)`];
    return value.flatMap((item) => {
      const lines = renderValue(item, `${indent}  `);
      return [`${indent}- ${lines[0]!.trimStart()}`, ...lines.slice(1)];
    });
  }
  if (value !== null && typeof value === 'object') {
    return Object.entries(value as Record<string, unknown>).flatMap(([k, v]) => {
      if (typeof v === 'string' && v.includes('\n')) return [`${indent}${k}: |`, ...v.split('\n').map((l) => `${indent}  ${printable(l)}`)];
      if (v !== null && typeof v === 'object' && (Array.isArray(v) ? v.length > 0 : Object.keys(v).length > 0)) {
        return [`${indent}${k}:`, ...renderValue(v, `${indent}  `)];
      }
      return [`${indent}${k}: ${scalar(v)}`];
    });
  }
  return [`${indent}${scalar(value)}`];
}

function scalar(v: unknown): string {
  if (typeof v === 'string') return v === '' ? '""' : printable(v);
  if (Array.isArray(v)) return '[]';
  if (v !== null && typeof v === 'object') return '{}';
  return String(v);
}

function renderStage(s: StageReport): string[] {
  const time = s.durationMs !== undefined ? `  (${(s.durationMs / 1000).toFixed(3)} s)` : '';
  if (s.status === 'skipped') return [`${MARK.skipped}  ${s.title}: skipped, ${s.skippedBecause ?? 'an earlier stage failed'}`];
  const lines = [`${MARK[s.status]}  ${s.title}${time}`];
  if (s.error) lines.push(`      error: ${s.error.code} (exit ${s.error.exitCode})`, ...s.error.message.split('\n').map((l) => `        ${printable(l)}`));
  lines.push(...renderValue(s.details, '      '));
  return lines;
}

export function renderDiagnosisText(diagnosis: Diagnosis): string {
  const d = redactDeep(diagnosis) as Diagnosis;
  const failed = d.stages.find((s) => s.status === 'fail');
  const where = d.cluster.subscription ? `, subscription ${d.cluster.subscription}` : '';
  const lines = [
    'arcproxy diagnose',
    `arcproxy ${d.arcproxyVersion}, Node.js ${d.node}, ${d.platform}`,
    `cloud: ${d.cloud}`,
    `cluster: ${d.cluster.name} (resource group ${d.cluster.resourceGroup}${where})`,
    `correlation id: ${d.correlationId} (x-ms-correlation-request-id on every call)`,
    '',
    ...d.stages.flatMap(renderStage),
    '',
  ];
  if (d.warnings.length > 0) lines.push('warnings:', ...d.warnings.map((w) => `  - ${printable(w)}`), '');
  lines.push(failed ? `result: FAIL at "${failed.title}" (exit ${d.exitCode})` : 'result: OK, every stage passed (exit 0)');
  return `${lines.join('\n')}\n`;
}
