#!/usr/bin/env -S node --
// Thin launcher: the CLI is compiled and bundled into dist/bundle/ by `npm run build` (the
// published package ships it built; scripts/bundle.mjs says why it is bundled, load-bundle.js how
// it is loaded).
// The `--` in the shebang ends Node's own options: Node 20 otherwise takes an `--env-file`
// (the emulator's old flag, now --write-env) as its own, wherever it appears. npx runs Node
// before this file, with no such `--`: which is why the flag was renamed.
import { loadBundle } from './load-bundle.js';

// Once main() has cleaned up, exit even if a library still holds a keep-alive socket or timer,
// after stdout and stderr have flushed (pipes are asynchronous on some platforms).
function exitWhenFlushed(code) {
  process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
}

function internalError(err) {
  process.stderr.write(`arcproxy: internal error: ${err && err.stack ? err.stack : err}\n`);
  exitWhenFlushed(70);
}

let main;
try {
  ({ main } = loadBundle().exports);
} catch (err) {
  // A clone has no dist/ until it is built (npm ci does not build: the package has no install scripts).
  if (err && err.code === 'ENOENT' && String(err.message).includes('main.cjs')) {
    process.stderr.write('arcproxy: dist/bundle/ is missing: in a clone, run `npm run build` first.\n');
    exitWhenFlushed(70);
  } else internalError(err);
}
if (main) main(process.argv.slice(2)).then(exitWhenFlushed, internalError);
