/**
 * Every line in README.md, docs/*.md and `--help` that starts the emulator, run as written through
 * `npx arcproxy` from the clone (npx inside the clone runs its own bin), the way a new user runs
 * it: npx is itself a Node script, so a flag Node takes as its own (Node 20's --env-file) breaks
 * the line before arcproxy sees it. Only the env file's path is changed, to a private one.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, runArcproxy } from '../helpers/arcproxy.js';

/** `npx arcproxy emulator ...` lines in the docs' shell blocks, comments and `&` cut off. */
function docLines(): Array<{ where: string; line: string }> {
  const files = [
    'README.md',
    ...readdirSync(join(ROOT, 'docs'))
      .filter((f) => f.endsWith('.md'))
      .map((f) => `docs/${f}`),
  ];
  const found: Array<{ where: string; line: string }> = [];
  for (const file of files) {
    readFileSync(join(ROOT, file), 'utf8')
      .split('\n')
      .forEach((text, i) => {
        const m = /^\s*(?:\$\s+)?(npx arcproxy emulator\b[^#&]*)/.exec(text);
        if (m) found.push({ where: `${file}:${i + 1}`, line: m[1]!.trim() });
      });
  }
  return found;
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'arcproxy-doc-lines-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

/** Runs `line` in a shell in the clone; resolves with its output once the emulator says it is ready, then stops it. */
function runUntilReady(line: string, envFile: string): Promise<string> {
  // A process group of its own, so the whole npx → sh → node chain is stopped at the end.
  const proc = spawn('sh', ['-c', line.replaceAll('/tmp/arc.env', envFile)], { cwd: ROOT, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const exited = new Promise<void>((resolve) => proc.on('exit', () => resolve()));
  return new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => finish(new Error(`not ready in 45 s:\n${out}`)), 45_000);
    const finish = (err?: Error) => {
      clearTimeout(timer);
      try {
        process.kill(-proc.pid!, 'SIGTERM');
      } catch {
        // already gone
      }
      void exited.then(() => (err ? reject(err) : resolve(out)));
    };
    const onData = (d: Buffer) => {
      out += d;
      if (out.includes('arcproxy emulator ready')) finish();
    };
    proc.stdout!.on('data', onData);
    proc.stderr!.on('data', onData);
    void exited.then(() => {
      if (!out.includes('arcproxy emulator ready')) finish(new Error(`exited before ready:\n${out}`));
    });
  });
}

describe('the docs start the emulator as written', () => {
  const lines = docLines();

  it('finds the lines in README.md and docs/emulator.md', () => {
    expect(lines.map((l) => l.where.split(':')[0])).toEqual(expect.arrayContaining(['README.md', 'docs/emulator.md']));
  });

  it.each(lines)('$where: $line', { timeout: 60_000 }, async ({ line }) => {
    const envFile = join(dir, `${Math.random().toString(36).slice(2)}.env`);
    const out = await runUntilReady(line, envFile);
    expect(out).toContain('arcproxy emulator ready');
    expect(out).not.toMatch(/^node: /m);
    if (line.includes('/tmp/arc.env')) expect(existsSync(envFile)).toBe(true);
  });

  it('--help: the example line, through npx', { timeout: 60_000 }, async () => {
    const help = await runArcproxy(['--help'], {});
    const m = /\$ (arcproxy emulator\b[^#&\n]*)/.exec(help.stdout);
    expect(m).not.toBeNull();
    const envFile = join(dir, 'help.env');
    const out = await runUntilReady(`npx ${m![1]!.trim()}`, envFile);
    expect(out).toContain('arcproxy emulator ready');
    expect(existsSync(envFile)).toBe(true);
  });
});
