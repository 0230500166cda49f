#!/usr/bin/env node
// Paired A/B of arcproxy's warm request path between two built trees: both arcproxys run at once
// against one emulator, and their sequential GETs (and the relay chain without arcproxy, for its
// share) are interleaved round by round, the order flipped every round. Separate runs of
// `bench/run.js` on each tree differ by more than the change being judged (±0.1 ms on the own
// share); paired rounds on the same machine at the same moment do not.
//
//   node bench/ab.js OLD_TREE NEW_TREE [--rounds 40] [--requests 300]
// A tree is a checkout with `npm run build` done (e.g. `git worktree add --detach /tmp/old <commit>`).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { startEmulatorProcess, launchArcproxy } from './lib/processes.js';
import { arcproxyTarget, relayTarget } from './lib/http.js';
import { relayCredential } from './lib/relay-credential.js';
import { sequentialGets } from './lib/workloads.js';
import { median } from './lib/stats.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { rounds: { type: 'string', default: '40' }, requests: { type: 'string', default: '300' } },
});
if (positionals.length !== 2) {
  console.error('usage: node bench/ab.js OLD_TREE NEW_TREE [--rounds 40] [--requests 300]');
  process.exit(2);
}
const trees = positionals.map((t) => resolve(t));
const rounds = Number(values.rounds);
const requests = Number(values.requests);

const emulator = await startEmulatorProcess();
const token = emulator.env.ARCPROXY_EMULATOR_SA_TOKEN;
const dir = await mkdtemp(join(tmpdir(), 'arcproxy-ab-'));
const procs = [];
try {
  for (const tree of trees) procs.push(await launchArcproxy({ emulatorEnv: emulator.env, token, dir, bin: join(tree, 'bin', 'arcproxy.js') }));
  const targets = procs.map((p) => arcproxyTarget(p));
  const { cred, cloud } = await relayCredential(emulator);
  const relay = relayTarget({ cred, cloud, token });
  const p50 = [[], []];
  const relayP50 = [];
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 ? [1, 0] : [0, 1];
    for (const i of order) p50[i].push((await sequentialGets(targets[i], requests, 20)).p50);
    relayP50.push((await sequentialGets(relay, requests, 20)).p50);
  }
  const relayMedian = median(relayP50);
  trees.forEach((tree, i) => {
    const m = median(p50[i]);
    console.log(`${tree}: sequential GET p50 ${m.toFixed(3)} ms, own share +${(m - relayMedian).toFixed(3)} ms (median of ${rounds} rounds)`);
  });
  const diffs = p50[1].map((x, k) => x - p50[0][k]);
  const slower = diffs.filter((d) => d > 0).length;
  console.log(`relay without arcproxy: ${relayMedian.toFixed(3)} ms`);
  console.log(
    `paired difference (new − old): median ${median(diffs) >= 0 ? '+' : ''}${median(diffs).toFixed(4)} ms; new slower in ${slower} of ${rounds} rounds`,
  );
} finally {
  await Promise.all(procs.map((p) => p.stop()));
  await emulator.close();
  await rm(dir, { recursive: true, force: true });
}
