// Loads the CLI's bundle, dist/bundle/main.cjs (scripts/bundle.mjs), with V8's code cache for it
// when one was made for this Node version (main.cjs.cache, written by the build): V8 then skips
// parsing and compiling most of the bundle's ~2.5 MB, about 25 ms of every launch. A cache made by
// another Node version is refused by V8 and the script is compiled from source, as without one.
// Node 20 offers no code cache for ES modules (module.enableCompileCache is Node 22), hence one
// CommonJS script run through node:vm.
import { readFileSync, writeFileSync } from 'node:fs';
import Module, { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Script } from 'node:vm';

export const BUNDLE = fileURLToPath(new URL('../dist/bundle/main.cjs', import.meta.url));

function compile(file, cachedData) {
  // The build writes the bundle in ASCII: latin1 reads it without UTF-8 decoding.
  return new Script(Module.wrap(readFileSync(file, 'latin1')), { filename: file, ...(cachedData ? { cachedData } : {}) });
}

function run(script, file) {
  const module = { exports: {} };
  script.runInThisContext()(module.exports, createRequire(file), module, file, dirname(file));
  return module.exports;
}

/**
 * The bundle's exports, and what became of its code cache: 'accepted', 'rejected' (made by another
 * Node version or with other V8 flags) or 'absent'. Throws ENOENT when the bundle is not built.
 */
export function loadBundle(file = BUNDLE) {
  let cachedData;
  try {
    cachedData = readFileSync(`${file}.cache`);
  } catch {
    cachedData = undefined;
  }
  const script = compile(file, cachedData);
  const cache = cachedData === undefined ? 'absent' : script.cachedDataRejected ? 'rejected' : 'accepted';
  return { exports: run(script, file), cache };
}

/**
 * Build time (scripts/bundle.mjs, in a process of its own): loads the bundle and the modules a
 * launch evaluates before ready (loadProxyModules, src/cli/main.ts), then writes the code cache,
 * which holds every function compiled so far.
 */
export async function writeCodeCache(file = BUNDLE) {
  const script = compile(file, undefined);
  await run(script, file).loadProxyModules();
  writeFileSync(`${file}.cache`, script.createCachedData());
}
