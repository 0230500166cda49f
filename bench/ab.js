#!/usr/bin/env node
// Paired measurement of arcproxy's warm request path: one or two built trees' arcproxys run at
// once against one emulator, and their sequential GETs are interleaved round by round, the order
// rotated every round, with the relay chain without arcproxy (for arcproxy's own share), direct,
// and `kubectl proxy` straight at the same apiserver (the peer: its added share = kubectl proxy −
// direct). Separate runs of `bench/run.js` on each tree differ by more than the change being
// judged (±0.1 ms on the own share); paired rounds on the same machine at the same moment do not.
// CPU time of each proxy's pid (from /proc) per request is printed beside it: load moves it less
// than any timing.
//
//   node bench/ab.js TREE [NEW_TREE] [--rounds 40] [--requests 300] [--warmup 20] [--jit-warm 3000]
//                   [--burst-ms N [--burst-on new|all]] [--conc-ms N] [--fill] [--new-node-args "..."]
// A tree is a checkout with `npm run build` done (e.g. `git worktree add --detach /tmp/old <commit>`).
// The same tree may be given twice (an A/A run: its paired difference is the harness's own noise).
//   --jit-warm N     sequential GETs through every path before the first round (a new process runs
//                    its first few thousand requests on code V8 has not optimised yet).
//   --burst-ms N     before every round, 64 concurrent clients for N ms through the arcproxys named
//                    by --burst-on (default all; `new`: the last tree only).
//   --conc-ms N      after each path's sequential GETs, 64 concurrent clients on it for N ms, in
//                    bench/run.js's path order, as the full benchmark's rounds run.
//   --fill           800 pods of ~130 KB in the apiserver first, as the full benchmark fills it.
//   --new-node-args  Node options for the last tree's arcproxy (a V8 flag against none).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { startEmulatorProcess, launchArcproxy } from './lib/processes.js';
import { arcproxyTarget, directTarget, relayTarget } from './lib/http.js';
import { relayCredential } from './lib/relay-credential.js';
import { BULK_NS, fillNamespace, sequentialGets, concurrentGets } from './lib/workloads.js';
import { cpuSeconds } from './lib/proc.js';
import { median } from './lib/stats.js';
import { startKubectlProxy, kubectlProxyTarget, writeDirectKubeconfig } from './lib/wan.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    rounds: { type: 'string', default: '40' },
    requests: { type: 'string', default: '300' },
    warmup: { type: 'string', default: '20' },
    'burst-ms': { type: 'string', default: '0' },
    'burst-on': { type: 'string', default: 'all' },
    'conc-ms': { type: 'string', default: '0' },
    fill: { type: 'boolean', default: false },
    'new-node-args': { type: 'string', default: '' },
    'jit-warm': { type: 'string', default: '3000' },
  },
});
if (positionals.length < 1 || positionals.length > 2) {
  console.error(
    'usage: node bench/ab.js TREE [NEW_TREE] [--rounds 40] [--requests 300] [--warmup 20] [--jit-warm 3000] [--burst-ms N [--burst-on new|all]] [--conc-ms N] [--fill] [--new-node-args "..."]',
  );
  process.exit(2);
}
const trees = positionals.map((t) => resolve(t));
const rounds = Number(values.rounds);
const requests = Number(values.requests);
const warmup = Number(values.warmup);
const burstMs = Number(values['burst-ms']);
const burstOn = values['burst-on'];
const concMs = Number(values['conc-ms']);

const rotate = (xs, k) => xs.map((_, i) => xs[(i + k) % xs.length]);
const signed = (x, digits = 3) => `${x >= 0 ? '+' : ''}${x.toFixed(digits)}`;

const emulator = await startEmulatorProcess();
const token = emulator.env.ARCPROXY_EMULATOR_SA_TOKEN;
const dir = await mkdtemp(join(tmpdir(), 'arcproxy-ab-'));
const stops = [];
try {
  // In bench/run.js's order (direct, relay, arcproxy, kubectl proxy), rotated every round.
  const { cred, cloud } = await relayCredential(emulator);
  const direct = { label: 'direct', target: directTarget({ url: emulator.apiserverUrl, ca: emulator.ca, token }), p50: [], cpu: [] };
  if (values.fill) await fillNamespace(direct.target, BULK_NS, 800, 130_000);
  /**
   * Each path: its target, the pid whose CPU is counted, and per round its p50 and CPU seconds.
   * @type {{ label: string, target: any, pid?: number, tree?: string, burst?: boolean, p50: number[], cpu: number[] }[]}
   */
  const paths = [direct, { label: 'relay', target: relayTarget({ cred, cloud, token }), p50: [], cpu: [] }];
  for (const [i, tree] of trees.entries()) {
    const nodeArgs = i === trees.length - 1 && values['new-node-args'] ? values['new-node-args'].split(' ') : [];
    const p = await launchArcproxy({ emulatorEnv: emulator.env, token, dir, nodeArgs, bin: join(tree, 'bin', 'arcproxy.js') });
    stops.push(() => p.stop());
    const label = trees.length === 1 ? 'arcproxy' : i === 0 ? 'arcproxy old' : 'arcproxy new';
    const burst = burstMs > 0 && (burstOn === 'all' || i === trees.length - 1);
    paths.push({ label, tree, target: arcproxyTarget(p), pid: p.pid, burst, p50: [], cpu: [] });
  }
  const kproxy = await startKubectlProxy(await writeDirectKubeconfig(join(dir, 'direct.yaml'), { url: emulator.apiserverUrl, ca: emulator.ca, token }));
  stops.push(() => kproxy.stop());
  paths.push({ label: 'kubectl proxy', target: kubectlProxyTarget(kproxy.port), pid: kproxy.pid, p50: [], cpu: [] });
  const byLabel = (l) => paths.find((p) => p.label === l);

  // A new process runs its first few thousand requests on code V8 has not optimised yet: warm
  // every path first, so the rounds compare the warm paths a long-running arcproxy serves.
  for (const p of paths) await sequentialGets(p.target, Number(values['jit-warm']), 0);
  for (let r = 0; r < rounds; r++) {
    for (const p of paths) if (p.burst) await concurrentGets(p.target, 64, 300, burstMs);
    for (const p of rotate(paths, r)) {
      const cpu0 = p.pid ? cpuSeconds(p.pid) : 0;
      p.p50.push((await sequentialGets(p.target, requests, warmup)).p50);
      if (p.pid) p.cpu.push(cpuSeconds(p.pid) - cpu0);
      if (concMs > 0) await concurrentGets(p.target, 64, 500, concMs);
    }
    const cpu = (p) => (p.pid ? ` (CPU ${((p.cpu.at(-1) * 1e6) / (requests + warmup)).toFixed(0)} µs/req)` : '');
    console.error(`ab: round ${r + 1}: ${paths.map((p) => `${p.label} ${p.p50.at(-1).toFixed(3)}${cpu(p)}`).join(', ')} ms`);
  }

  // Per round, paired: arcproxy − relay, kubectl proxy − direct; medians over rounds.
  const relay = byLabel('relay');
  const kp = byLabel('kubectl proxy');
  const peerShare = median(kp.p50.map((x, k) => x - direct.p50[k]));
  const cpuUs = (p) => (p.cpu.reduce((a, b) => a + b, 0) * 1e6) / (rounds * (requests + warmup));
  console.log(
    `${rounds} rounds of ${requests} sequential GETs (+${warmup} warm-up) per path${burstMs ? `, ${burstMs} ms of 64 concurrent clients before each round through ${burstOn === 'all' ? 'every arcproxy' : 'the new tree'}` : ''}${concMs ? `, each followed by ${concMs} ms of 64 concurrent clients on the same path` : ''}${values.fill ? ', 800 pods of ~130 KB in the apiserver' : ''}`,
  );
  for (const p of paths)
    console.log(
      `  ${p.label.padEnd(14)} p50 ${median(p.p50).toFixed(3)} ms${p.pid ? `, CPU ${cpuUs(p).toFixed(0)} µs per request` : ''}${p.tree ? `  (${p.tree})` : ''}`,
    );
  console.log(`kubectl proxy's added p50 (− direct, paired by round): ${signed(peerShare)} ms`);
  for (const p of paths.filter((x) => x.tree)) {
    const own = median(p.p50.map((x, k) => x - relay.p50[k]));
    const unpaired = median(p.p50) - median(relay.p50);
    console.log(
      `${p.label}: own share (− relay, paired by round) ${signed(own)} ms, ${(own / peerShare).toFixed(2)}x kubectl proxy's; unpaired (median − median, as bench/run.js took it until 2026-12-06) ${signed(unpaired)} ms`,
    );
  }
  if (trees.length === 2) {
    const [a, b] = paths.filter((x) => x.tree);
    const diffs = b.p50.map((x, k) => x - a.p50[k]);
    const slower = diffs.filter((d) => d > 0).length;
    console.log(
      `paired difference (new − old): median ${signed(median(diffs), 4)} ms; new slower in ${slower} of ${rounds} rounds; CPU ${signed(cpuUs(b) - cpuUs(a), 0)} µs per request`,
    );
  }
} finally {
  for (const stop of stops) await stop().catch(() => undefined);
  await emulator.close();
  await rm(dir, { recursive: true, force: true });
}
