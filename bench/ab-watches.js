#!/usr/bin/env node
// Paired A/B of arcproxy's watch event delivery between two built trees, in one run against one
// emulator (this tree's: its relay times each event on its way to arcproxy, bench/lib/workloads.js
// eventShares): per round and per tree, a fresh arcproxy with 1 watch and with N watches over
// HTTP/2 and HTTP/1.1, the trees' order flipped every round. Reports arcproxy's own share of
// delivery, where the latest delivery's time went, arcproxy's CPU per event and its RSS.
//
//   node bench/ab-watches.js OLD_TREE NEW_TREE [--rounds 3] [--watches 1000] [--events 5]
//   node bench/ab-watches.js TREE               (one tree alone)
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { startEmulatorProcess, launchArcproxy } from './lib/processes.js';
import { arcproxyTarget, arcproxyH2Target, directTarget } from './lib/http.js';
import { manyWatches } from './lib/workloads.js';
import { median } from './lib/stats.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { rounds: { type: 'string', default: '3' }, watches: { type: 'string', default: '1000' }, events: { type: 'string', default: '5' } },
});
if (positionals.length < 1 || positionals.length > 2) {
  console.error('usage: node bench/ab-watches.js OLD_TREE [NEW_TREE] [--rounds 3] [--watches 1000] [--events 5]');
  process.exit(2);
}
const trees = positionals.map((t) => resolve(t));
const rounds = Number(values.rounds);
const many = Number(values.watches);
const events = Number(values.events);
const kinds = [
  { name: 'h2 x1', n: 1, h2: true },
  { name: 'h1 x1', n: 1, h2: false },
  { name: `h2 x${many}`, n: many, h2: true },
  { name: `h1 x${many}`, n: many, h2: false },
];

const emulator = await startEmulatorProcess();
const token = emulator.env.ARCPROXY_EMULATOR_SA_TOKEN;
const control = directTarget({ url: emulator.apiserverUrl, ca: emulator.ca, token });
const dir = await mkdtemp(join(tmpdir(), 'arcproxy-ab-watches-'));
/** results[tree][kind] = manyWatches results, one per round */
const results = trees.map(() => Object.fromEntries(kinds.map((k) => [k.name, []])));
const fmt = (x, d = 1) => (x === undefined ? '-' : x.toFixed(d));
try {
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 ? [...trees.keys()].reverse() : [...trees.keys()];
    for (const kind of kinds) {
      for (const i of order) {
        const p = await launchArcproxy({ emulatorEnv: emulator.env, token, dir, bin: join(trees[i], 'bin', 'arcproxy.js') });
        try {
          const t = kind.h2 ? arcproxyH2Target(p) : arcproxyTarget(p);
          const w = await manyWatches(t, control, kind.n, events, `ab${r}t${i}${kind.h2 ? 'h2' : 'h1'}n${kind.n}`, p.pid, emulator.probe);
          results[i][kind.name].push(w);
          console.error(
            `round ${r + 1} ${kind.name.padEnd(8)} tree ${i}: delivery p99 ${fmt(w.p99)} ms; arcproxy share p50 ${fmt(w.share?.p50, 2)} p99 ${fmt(w.share?.p99, 2)} max ${fmt(w.share?.max, 2)} ms; latest: upstream ${fmt(w.hops?.upstream)} relay ${fmt(w.hops?.relay)} arcproxy ${fmt(w.hops?.arcproxy)} ms; spans: relay writes ${fmt(w.hops?.relaySpan)} receipts ${fmt(w.hops?.receiveSpan)} ms; CPU ${fmt(w.cpuMsPerEvent)} ms/event; RSS ${fmt(w.rssWithWatchesMB, 0)} MB; missed ${w.missed}`,
          );
        } finally {
          await p.stop();
        }
      }
    }
  }
  for (const [i, tree] of trees.entries()) {
    console.log(`${tree} (medians of ${rounds} rounds):`);
    for (const kind of kinds) {
      const ws = results[i][kind.name];
      const m = (f) => median(ws.map(f));
      console.log(
        `  ${kind.name.padEnd(8)} delivery p50 ${fmt(m((w) => w.p50))} p99 ${fmt(m((w) => w.p99))} ms | arcproxy share p50 ${fmt(
          m((w) => w.share?.p50),
          2,
        )} p99 ${fmt(
          m((w) => w.share?.p99),
          2,
        )} max ${fmt(
          m((w) => w.share?.max),
          2,
        )} ms | latest: upstream ${fmt(m((w) => w.hops?.upstream))} relay ${fmt(m((w) => w.hops?.relay))} arcproxy ${fmt(m((w) => w.hops?.arcproxy))} ms | CPU ${fmt(m((w) => w.cpuMsPerEvent))} ms/event | RSS ${fmt(
          m((w) => w.rssWithWatchesMB),
          1,
        )} MB`,
      );
    }
  }
} finally {
  await emulator.close();
  await rm(dir, { recursive: true, force: true });
}
