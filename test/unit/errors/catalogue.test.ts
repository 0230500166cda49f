/** docs/exit-codes.md must say what the catalogue says: every code, in the row of its exit code. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ArcproxyError, ERROR_CATALOGUE, errorCodeOf, UsageError, type ErrorCode } from '../../../src/errors/index.js';

const doc = readFileSync(new URL('../../../docs/exit-codes.md', import.meta.url), 'utf8');
const codesIn = (text: string): string[] => [...text.matchAll(/`(ARCPROXY_[A-Z_]+)`/g)].map((m) => m[1]!);

/** exit code -> codes listed in that row of the exit-code table. */
function exitTable(): Map<number, string[]> {
  const rows = new Map<number, string[]>();
  for (const line of doc.split('\n')) {
    const m = /^\| (\d+) \|[^|]*\|(.*)\|$/.exec(line);
    if (m) rows.set(Number(m[1]), codesIn(m[2]!));
  }
  return rows;
}

/** Codes in the table of session-only codes. */
function sessionTable(): string[] {
  return doc
    .split('\n')
    .filter((line) => /^\| `ARCPROXY_/.test(line))
    .flatMap((line) => codesIn(line.split('|')[1]!));
}

describe('error catalogue', () => {
  const entries = Object.entries(ERROR_CATALOGUE) as [ErrorCode, { exitCode: number; scope?: 'session' }][];

  it('docs/exit-codes.md lists every exit-ending code in the row of its exit code', () => {
    const table = exitTable();
    const misplaced = entries
      .filter(([, e]) => e.scope !== 'session')
      .filter(([code, e]) => !(table.get(e.exitCode) ?? []).includes(code))
      .map(([code, e]) => `${code} (exit ${e.exitCode})`);
    expect(misplaced).toEqual([]);
  });

  it('docs/exit-codes.md lists every session-only code in its own table', () => {
    const listed = sessionTable();
    expect(entries.filter(([, e]) => e.scope === 'session').map(([c]) => c)).toEqual(expect.arrayContaining(listed));
    expect(listed.sort()).toEqual(
      entries
        .filter(([, e]) => e.scope === 'session')
        .map(([c]) => c)
        .sort(),
    );
  });

  it('docs/exit-codes.md names no code the catalogue does not have', () => {
    const unknown = [...new Set(codesIn(doc))].filter((c) => !(c in ERROR_CATALOGUE));
    expect(unknown).toEqual([]);
  });

  it('an error takes its exit code from the catalogue', () => {
    expect(new ArcproxyError('ARCPROXY_PORT_IN_USE', 'x').exitCode).toBe(7);
    expect(new UsageError('x').exitCode).toBe(2);
    expect(new UsageError('x', 'ARCPROXY_SUBSCRIPTION_NOT_FOUND').exitCode).toBe(4);
  });

  it('reads a code only off an ArcproxyError', () => {
    expect(errorCodeOf(new ArcproxyError('ARCPROXY_RELAY_TIMEOUT', 'x'))).toBe('ARCPROXY_RELAY_TIMEOUT');
    expect(errorCodeOf(Object.assign(new Error('reset'), { code: 'ECONNRESET' }), 'ARCPROXY_TUNNEL_FAILED')).toBe('ARCPROXY_TUNNEL_FAILED');
    expect(errorCodeOf('weird')).toBe('ARCPROXY_INTERNAL');
  });
});
