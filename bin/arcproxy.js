#!/usr/bin/env -S node --
// Thin launcher: the CLI is compiled and bundled into dist/bundle/ by `npm run build` (run
// automatically by `npm ci`; scripts/bundle.mjs says why it is bundled).
// The `--` in the shebang ends Node's own options: Node 20 otherwise takes an `--env-file`
// (the emulator's old flag, now --write-env) as its own, wherever it appears. npx runs Node
// before this file, with no such `--`: which is why the flag was renamed.
import { main } from '../dist/bundle/main.js';

// Once main() has cleaned up, exit even if a library still holds a keep-alive socket or timer,
// after stdout and stderr have flushed (pipes are asynchronous on some platforms).
function exitWhenFlushed(code) {
  process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
}

main(process.argv.slice(2)).then(exitWhenFlushed, (err) => {
  process.stderr.write(`arcproxy: internal error: ${err && err.stack ? err.stack : err}\n`);
  exitWhenFlushed(70);
});
