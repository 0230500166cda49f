#!/usr/bin/env node
// Bundles the compiled CLI (dist/cli/main.js) with its dependencies into one CommonJS script,
// dist/bundle/main.cjs, which bin/arcproxy.js runs, and makes V8's code cache for it
// (main.cjs.cache; bin/load-bundle.js). Why: Node resolves, reads and compiles an unbundled module
// graph file by file — about 55 of ours plus the Azure SDK's hundreds — which was most of
// arcproxy's launch-to-ready time (see docs/performance.md); and with the code cache V8 does not
// parse the bundle again at each launch. The emulator's and diagnose's modules are in the script
// too, evaluated only when their command runs.
//
// Run by `npm run build` after tsc. Unminified, so stack traces stay readable.
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { readFile, rm, stat, writeFile } from 'node:fs/promises';
import { ROOT, bundleAzureSdk, common } from './esbuild-shared.mjs';

const OUT = 'dist/bundle';
const BUNDLE = `${ROOT}${OUT}/main.cjs`;

await rm(`${ROOT}${OUT}`, { recursive: true, force: true });
await build({
  ...common,
  entryPoints: ['dist/cli/main.js'],
  outfile: `${OUT}/main.cjs`,
  format: 'cjs',
  // src/cli/main.ts reads package.json through import.meta.url only when the build did not define its version.
  logOverride: { 'empty-import-meta': 'silent' },
  plugins: [bundleAzureSdk],
});
// ASCII only, so bin/load-bundle.js reads it as latin1, without UTF-8 decoding (~6 ms for 2.5 MiB).
// esbuild escapes non-ASCII characters in code (its default charset); what is left is in comments,
// where a \uXXXX escape is as good (and in code it would mean the same).
const text = await readFile(BUNDLE, 'utf8');
const ascii = text.replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
if (ascii !== text) await writeFile(BUNDLE, ascii);
// In a Node process of its own, as a launch would load it: a cache V8 refuses is worth nothing.
execFileSync(
  process.execPath,
  ['--input-type=module', '-e', "import { writeCodeCache } from './bin/load-bundle.js'; await writeCodeCache(process.argv[1]);", BUNDLE],
  { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] },
);
const mib = async (f) => ((await stat(f)).size / 1024 / 1024).toFixed(1);
console.log(`bundle: ${OUT}/main.cjs (${await mib(BUNDLE)} MiB), code cache ${await mib(`${BUNDLE}.cache`)} MiB`);
