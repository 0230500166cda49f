/**
 * No dead exports: a function or constant that src/ exports must be used outside its own
 * module (by src/, test/, bench/, scripts/ or bin/). An export used only at home is made private; one
 * used nowhere is deleted. Types and classes are left alone: exported option types and typed errors
 * are API.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = new URL('../../../', import.meta.url).pathname;

function files(dir: string): string[] {
  return readdirSync(join(ROOT, dir)).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(join(ROOT, path)).isDirectory()) return name === 'results' ? [] : files(path);
    return /\.(ts|js|mjs)$/.test(name) ? [path] : [];
  });
}

describe('exports', () => {
  it('every value src/ exports is used outside its module', () => {
    const all = ['src', 'test', 'bench', 'scripts', 'bin'].flatMap(files);
    const text = new Map(all.map((f) => [f, readFileSync(join(ROOT, f), 'utf8')]));
    const unused: string[] = [];
    for (const file of all.filter((f) => f.startsWith('src/'))) {
      for (const m of text.get(file)!.matchAll(/^export (?:async )?(?:function|const|let)\s+(\w+)/gm)) {
        const name = m[1]!;
        const word = new RegExp(`\\b${name}\\b`);
        if (![...text].some(([other, t]) => other !== file && word.test(t))) unused.push(`${relative('src', file)}: ${name}`);
      }
    }
    expect(unused).toEqual([]);
  });
});
