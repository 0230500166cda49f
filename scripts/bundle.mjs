#!/usr/bin/env node
// Bundles the compiled CLI (dist/cli/main.js) with its dependencies into dist/bundle/, which bin/arcproxy.js runs. Why: Node resolves, reads and
// compiles an unbundled module graph file by file — about 55 of ours plus the Azure SDK's
// hundreds — which was most of arcproxy's launch-to-ready time (see docs/performance.md).
//
// Run by `npm run build` after tsc. Unminified, so stack traces stay readable.
import { build } from 'esbuild';
import { rm } from 'node:fs/promises';
import { ROOT, bundleAzureSdk, common } from './esbuild-shared.mjs';

const OUT = 'dist/bundle';

await rm(`${ROOT}${OUT}`, { recursive: true, force: true });
const result = await build({
  ...common,
  entryPoints: ['dist/cli/main.js'],
  outdir: OUT,
  entryNames: '[name]',
  splitting: true, // the proxy and emulator commands stay separate chunks, loaded when run
  format: 'esm',
  // CommonJS dependencies call require() for Node's built-ins; ES modules have no require.
  banner: { js: "import { createRequire as __arcproxyCreateRequire } from 'node:module'; const require = __arcproxyCreateRequire(import.meta.url);" },
  plugins: [bundleAzureSdk],
  metafile: true,
});
const bytes = Object.values(result.metafile.outputs).reduce((n, o) => n + o.bytes, 0);
console.log(`bundle: ${Object.keys(result.metafile.outputs).length} files, ${(bytes / 1024 / 1024).toFixed(1)} MiB in ${OUT}/`);
