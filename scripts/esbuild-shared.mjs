// What both bundles share: scripts/bundle.mjs (dist/bundle/main.cjs, run by bin/arcproxy.js) and
// scripts/build-sea.mjs (one CommonJS file for the single executable).
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../', import.meta.url));

// src/azure/sdk.ts loads the Azure SDK through `createRequire` (its CommonJS builds; see the
// comment there). esbuild cannot follow a require made that way, so the bundle drops that one
// line: the bare `require('@azure/...')` calls that remain are bundled like any other.
/** @type {import('esbuild').Plugin} */
export const bundleAzureSdk = {
  name: 'bundle-azure-sdk',
  setup(b) {
    b.onLoad({ filter: /[\\/]dist[\\/]azure[\\/]sdk\.js$/ }, async (args) => {
      const source = await readFile(args.path, 'utf8');
      const contents = source.replace(/^const require = createRequire\(import\.meta\.url\);$/m, '');
      if (contents === source) throw new Error(`${args.path}: the createRequire line changed; update scripts/esbuild-shared.mjs`);
      return { contents, loader: 'js' };
    });
  },
};

const { version } = JSON.parse(await readFile(`${ROOT}package.json`, 'utf8'));

/** @type {import('esbuild').BuildOptions} */
export const common = {
  absWorkingDir: ROOT,
  bundle: true,
  platform: 'node',
  target: 'node20',
  // ws's optional native speed-ups: loaded where installed beside the bundle, else ws uses JavaScript.
  external: ['bufferutil', 'utf-8-validate'],
  // `arcproxy --version` without reading package.json at run time (src/cli/main.ts).
  define: { __ARCPROXY_VERSION__: JSON.stringify(version) },
  logLevel: 'warning',
};
