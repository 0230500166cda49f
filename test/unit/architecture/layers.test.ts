/**
 * The house's floors: a module may import from its own folder and from folders on a lower floor,
 * never from a higher one or from another folder on its own floor, so there is no folder cycle and
 * the folder list reads as the path of a request (docs/architecture.md). The emulator stands
 * beside the stack: it reuses the protocol pieces of the lower floors and only the CLI starts it.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '../../../src');

/** Lower number = lower floor. */
const FLOORS: Record<string, number> = {
  errors: 0,
  pki: 1,
  kubeconfig: 2,
  net: 2,
  relay: 3,
  azure: 3,
  tunnel: 4,
  proxy: 5,
  session: 6,
  cli: 7,
};
const EMULATOR_MAY_IMPORT = new Set(['errors', 'pki', 'net', 'relay', 'azure']);

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sourceFiles(path) : path.endsWith('.ts') ? [path] : [];
  });
}

/** The top-level folder of a file under src/ ("errors" for src/errors.ts). */
function folderOf(file: string): string {
  const rel = relative(SRC, file);
  const first = rel.split('/')[0]!;
  return first.replace(/\.(ts|js)$/, '');
}

/** Relative specifiers of static imports, re-exports and dynamic import()s. */
export function importsOf(text: string): string[] {
  const specs: string[] = [];
  const pattern = /(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)['"](\.{1,2}\/[^'"]+)['"]/gm;
  for (const m of text.matchAll(pattern)) specs.push(m[1]!);
  return specs;
}

/** Why importing folder `to` from folder `from` breaks the rules, or undefined when it may. */
export function violation(from: string, to: string): string | undefined {
  if (from === to) return undefined;
  if (from === 'emulator') return EMULATOR_MAY_IMPORT.has(to) ? undefined : `the emulator may import only ${[...EMULATOR_MAY_IMPORT].join(', ')}`;
  if (to === 'emulator') return from === 'cli' ? undefined : 'only the CLI starts the emulator';
  const a = FLOORS[from];
  const b = FLOORS[to];
  if (a === undefined) return `src/${from} has no floor: add it to FLOORS and to docs/architecture.md`;
  if (b === undefined) return `src/${to} has no floor: add it to FLOORS and to docs/architecture.md`;
  if (b > a) return `${to} is on a higher floor (${b}) than ${from} (${a})`;
  if (b === a) return `${to} and ${from} share floor ${a}: neither may import the other`;
  return undefined;
}

describe('layering', () => {
  it('no module imports from a higher floor or a sibling folder', () => {
    const problems: string[] = [];
    for (const file of sourceFiles(SRC)) {
      const from = folderOf(file);
      for (const spec of importsOf(readFileSync(file, 'utf8'))) {
        const target = resolve(dirname(file), spec);
        if (!target.startsWith(SRC)) continue;
        const why = violation(from, folderOf(target));
        if (why) problems.push(`${relative(SRC, file)} imports ${spec}: ${why}`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('every folder under src/ has a floor', () => {
    const folders = readdirSync(SRC).map((name) => (name.endsWith('.ts') ? name.slice(0, -3) : name));
    expect(folders.filter((f) => f !== 'emulator' && FLOORS[f] === undefined)).toEqual([]);
  });

  it('the rule itself refuses a wrong-way import', () => {
    expect(violation('proxy', 'session')).toMatch(/higher floor/);
    expect(violation('relay', 'azure')).toMatch(/share floor/);
    expect(violation('tunnel', 'cli')).toMatch(/higher floor/);
    expect(violation('emulator', 'proxy')).toMatch(/emulator may import only/);
    expect(violation('session', 'emulator')).toMatch(/only the CLI/);
    expect(violation('session', 'tunnel')).toBeUndefined();
    expect(importsOf("import a from '../x.js';\nexport { b } from './y.js';\nawait import('../z.js');")).toEqual(['../x.js', './y.js', '../z.js']);
  });
});
