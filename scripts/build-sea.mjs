#!/usr/bin/env node
// Builds arcproxy as a single executable for the platform it runs on (Node's single-executable
// applications): dist/sea/arcproxy, or arcproxy.exe on Windows. Needs `npm run build` first (it
// bundles the compiled dist/cli/ and dist/pki/), and the Node.js binary it runs under is the one
// copied: build with the Node version the executable should carry.
//
// A single executable runs one CommonJS script whose require() knows only Node's built-ins, so
// this bundle is one file with everything inside (no chunks, no dynamic import of files).
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { ROOT, bundleAzureSdk, common } from './esbuild-shared.mjs';

const OUT = `${ROOT}dist/sea`;
const EXE = `${OUT}/arcproxy${process.platform === 'win32' ? '.exe' : ''}`;
// The fuse Node looks for to know it carries an application (Node's documentation, "Single executable applications").
const FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

if (!existsSync(`${ROOT}dist/cli/main.js`)) throw new Error('dist/cli/main.js is missing: run `npm run build` first');
rmSync(OUT, { recursive: true, force: true });
mkdirSync(OUT, { recursive: true });
const started = Date.now();

/** @type {import('esbuild').BuildOptions} */
const cjs = { ...common, format: 'cjs', logOverride: { 'empty-import-meta': 'silent' } };

// bin/arcproxy.js is the entry, with its loader of dist/bundle/ replaced by the compiled CLI itself
// (the executable carries its own code cache: useCodeCache below).
/** @type {import('esbuild').Plugin} */
const fromCompiledCli = {
  name: 'from-compiled-cli',
  setup(b) {
    b.onResolve({ filter: /[\\/]load-bundle\.js$/ }, () => ({ path: 'load-bundle', namespace: 'compiled-cli' }));
    b.onLoad({ filter: /.*/, namespace: 'compiled-cli' }, () => ({
      contents: `import * as cli from ${JSON.stringify(`${ROOT}dist/cli/main.js`)}; export function loadBundle() { return { exports: cli, cache: 'absent' }; }`,
      loader: 'js',
      resolveDir: ROOT,
    }));
    // The shebang would be a syntax error in the executable's script.
    b.onLoad({ filter: /[\\/]bin[\\/]arcproxy\.js$/ }, (args) => ({ contents: readFileSync(args.path, 'utf8').replace(/^#!.*\n/, ''), loader: 'js' }));
  },
};
// ws's optional native modules cannot load inside the executable (its require() has only the
// built-ins, and says so in a warning): a module that throws makes ws use its JavaScript as it does
// wherever they are not installed.
/** @type {import('esbuild').Plugin} */
const withoutNativeModules = {
  name: 'without-native-modules',
  setup(b) {
    b.onResolve({ filter: /^(bufferutil|utf-8-validate)$/ }, (args) => ({ path: args.path, namespace: 'absent' }));
    b.onLoad({ filter: /.*/, namespace: 'absent' }, (args) => ({ contents: `throw new Error('${args.path} is not in the single executable');`, loader: 'js' }));
  },
};
await build({
  ...cjs,
  external: [],
  entryPoints: ['bin/arcproxy.js'],
  outfile: 'dist/sea/arcproxy.cjs',
  plugins: [fromCompiledCli, withoutNativeModules, bundleAzureSdk],
});

const config = `${OUT}/sea-config.json`;
writeFileSync(
  config,
  JSON.stringify({
    main: `${OUT}/arcproxy.cjs`,
    output: `${OUT}/arcproxy.blob`,
    disableExperimentalSEAWarning: true,
    // V8's compiled code goes in too: the script is not parsed again at every launch.
    useCodeCache: true,
  }),
);
execFileSync(process.execPath, ['--experimental-sea-config', config], { stdio: ['ignore', 'ignore', 'inherit'] });

copyFileSync(process.execPath, EXE);
if (process.platform === 'darwin') execFileSync('codesign', ['--remove-signature', EXE]);
const { inject } = createRequire(import.meta.url)('postject');
await inject(EXE, 'NODE_SEA_BLOB', readFileSync(`${OUT}/arcproxy.blob`), {
  sentinelFuse: FUSE,
  machoSegmentName: process.platform === 'darwin' ? 'NODE_SEA' : undefined,
});
// macOS runs only signed binaries on arm64: an ad-hoc signature (a real one is the release's business).
if (process.platform === 'darwin') execFileSync('codesign', ['--sign', '-', EXE]);

const mib = (statSync(EXE).size / 1024 / 1024).toFixed(0);
console.log(
  `single executable: ${EXE} (${mib} MiB, Node ${process.version}, ${process.platform}-${process.arch}) in ${((Date.now() - started) / 1000).toFixed(1)} s`,
);
