#!/usr/bin/env node
// Bundles the compiled CLI (dist/cli/main.js) and the PKI worker (dist/pki/worker.js) with their
// dependencies into dist/bundle/, which bin/arcproxy.js runs. Why: Node resolves, reads and
// compiles an unbundled module graph file by file — about 55 of ours plus the Azure SDK's
// hundreds — which was most of arcproxy's launch-to-ready time (see docs/performance.md).
//
// Run by `npm run build` after tsc. Unminified, so stack traces stay readable.
import { build } from 'esbuild';
import { readFile, rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const OUT = 'dist/bundle';

// src/azure/sdk.ts loads the Azure SDK through `createRequire` (its CommonJS builds; see the
// comment there). esbuild cannot follow a require made that way, so the bundle drops that one
// line: the bare `require('@azure/...')` calls that remain are bundled like any other.
const bundleAzureSdk = {
  name: 'bundle-azure-sdk',
  setup(b) {
    b.onLoad({ filter: /[\\/]dist[\\/]azure[\\/]sdk\.js$/ }, async (args) => {
      const source = await readFile(args.path, 'utf8');
      const contents = source.replace(/^const require = createRequire\(import\.meta\.url\);$/m, '');
      if (contents === source) throw new Error(`${args.path}: the createRequire line changed; update scripts/bundle.mjs`);
      return { contents, loader: 'js' };
    });
  },
};

await rm(`${ROOT}${OUT}`, { recursive: true, force: true });
const result = await build({
  absWorkingDir: ROOT,
  entryPoints: ['dist/cli/main.js', 'dist/pki/worker.js'],
  outdir: OUT,
  // main.js and worker.js side by side, with the shared chunks: session-pki-worker finds the
  // worker as './worker.js' next to itself, and main reads '../../package.json' as from dist/cli/.
  entryNames: '[name]',
  bundle: true,
  splitting: true, // the proxy and emulator commands stay separate chunks, loaded when run
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // Native and optional: loaded from node_modules when installed (ws falls back without them).
  external: ['bufferutil', 'utf-8-validate'],
  // CommonJS dependencies call require() for Node's built-ins; ES modules have no require.
  banner: { js: "import { createRequire as __arcproxyCreateRequire } from 'node:module'; const require = __arcproxyCreateRequire(import.meta.url);" },
  plugins: [bundleAzureSdk],
  logLevel: 'warning',
  metafile: true,
});
const bytes = Object.values(result.metafile.outputs).reduce((n, o) => n + o.bytes, 0);
console.log(`bundle: ${Object.keys(result.metafile.outputs).length} files, ${(bytes / 1024 / 1024).toFixed(1)} MiB in ${OUT}/`);
