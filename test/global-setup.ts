/**
 * Builds dist/ before the tests when it is missing or older than its sources, and only then:
 * `npm ci && npm test` builds once (npm ci does not build: the package has no install scripts),
 * and a test run after an edit still tests the edited code (the e2e tests run bin/arcproxy.js → dist/bundle/).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SOURCES = [
  'src',
  'bin/load-bundle.js',
  'scripts/bundle.mjs',
  'scripts/esbuild-shared.mjs',
  'package.json',
  'package-lock.json',
  'tsconfig.json',
  'tsconfig.build.json',
];

function newest(path: string): number {
  if (!existsSync(path)) return 0;
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return Math.max(0, ...readdirSync(path).map((name) => newest(join(path, name))));
}

export default function setup(): void {
  const built = join(ROOT, 'dist/bundle/main.cjs');
  const builtAt = existsSync(built) ? statSync(built).mtimeMs : 0;
  if (builtAt < Math.max(...SOURCES.map((s) => newest(join(ROOT, s))))) {
    execFileSync('npm', ['run', 'build', '--silent'], { cwd: ROOT, stdio: 'inherit' });
  }
}
