/**
 * docs/architecture.md's module table must match the tree: a row for every folder under src/,
 * naming every .ts file in it, and no file or folder that does not exist.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = new URL('../../../', import.meta.url).pathname;
const doc = readFileSync(join(ROOT, 'docs/architecture.md'), 'utf8');

function folders(dir: string): string[] {
  const subs = readdirSync(join(ROOT, dir)).filter((n) => statSync(join(ROOT, dir, n)).isDirectory());
  return [dir, ...subs.flatMap((s) => folders(`${dir}/${s}`))];
}

/** Folder -> the file names its row of the module table lists. */
function rows(): Map<string, string[]> {
  const map = new Map<string, string[]>();
  for (const line of doc.split('\n')) {
    const m = /^\| `(src\/[^`]*?)\/?` \|(.*)\|$/.exec(line);
    if (m)
      map.set(
        m[1]!,
        [...m[2]!.matchAll(/`([\w.-]+\.ts)`/g)].map((f) => f[1]!),
      );
  }
  return map;
}

describe('docs/architecture.md', () => {
  const table = rows();

  it('has a row for every folder under src/, and none for a folder that is gone', () => {
    const real = folders('src').filter((d) => d !== 'src');
    expect([...table.keys()].sort()).toEqual(real.sort());
  });

  it('names every file of each folder in its row, and no file that does not exist', () => {
    const problems: string[] = [];
    for (const [folder, listed] of table) {
      const dir = join(ROOT, folder);
      const real = existsSync(dir) ? readdirSync(dir).filter((n) => n.endsWith('.ts')) : [];
      for (const f of real) if (!listed.includes(f)) problems.push(`${folder}/${f} is not in its row`);
      for (const f of listed) if (!real.includes(f)) problems.push(`${folder}/${f} is listed but does not exist`);
    }
    expect(problems).toEqual([]);
  });

  it('every src/ path it mentions exists', () => {
    const missing = [...doc.matchAll(/`(src\/[\w./-]+)`/g)].map((m) => m[1]!.replace(/\/$/, '')).filter((p) => !existsSync(join(ROOT, p)));
    expect([...new Set(missing)]).toEqual([]);
  });
});
