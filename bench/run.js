#!/usr/bin/env node
// arcproxy benchmark: the same workloads, on loopback, interleaved round by round, along three
// paths — direct to the emulated apiserver, through the relay without arcproxy (a minimal sender
// in this process), and through the real arcproxy process (plus `kubectl proxy`, the peer, for the
// small requests) — then a table of medians and ratios, the issue's targets, the WAN section (real
// kubectl commands with the emulated relay 0 and 20 ms away, lib/wan.js), and
// bench/results/<date>.json.
//
//   npm run build && node bench/run.js            full run (about 8–10 minutes on 2 cores, the WAN section included)
//   node bench/run.js --quick                      smoke run (smaller, fewer rounds)
//   node bench/run.js --profile                    node --cpu-prof of arcproxy per workload, summarised
//   node bench/run.js --launch [--quick]           launch-to-ready only, from the user's own commands
//   node bench/run.js --wan-only [--quick]         only the WAN section (kubectl commands, relay latency)
import { mkdtemp, mkdir, rm, writeFile, readdir } from 'node:fs/promises';
import { tmpdir, cpus } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execFileSync } from 'node:child_process';
import { startEmulatorProcess, launchArcproxy, nodeStartupMs, ensureSingleExecutable } from './lib/processes.js';
import { directTarget, relayTarget, arcproxyTarget, arcproxyH2Target } from './lib/http.js';
import { relayCredential } from './lib/relay-credential.js';
import { BULK_NS, fillNamespace, sequentialGets, concurrentGets, firstRequest, bulk, manyWatches, headOfLine } from './lib/workloads.js';
import { cpuSeconds, rssBytes } from './lib/proc.js';
import { median } from './lib/stats.js';
import { summarise, printSummary } from './lib/cpuprofile.js';
import { renderTable, evaluateTargets, renderLaunchForms } from './lib/report.js';
import { startFloors } from './lib/floors.js';
import { wanSection, renderWan, startKubectlProxy, kubectlProxyTarget, writeDirectKubeconfig, summarisePeer, renderPeer } from './lib/wan.js';

const args = new Set(process.argv.slice(2));
const QUICK = args.has('--quick');
const PROFILE = args.has('--profile');
const LAUNCH_ONLY = args.has('--launch');
const WAN_ONLY = args.has('--wan-only');
// The WAN section: one-way relay latencies, runs per command, and the idle wait before "after
// idle" (past arcproxy's 60 s idle-stream timeout, which no flag shortens; left out of --quick).
const WAN = { latencies: [0, 20], reps: QUICK ? 3 : 5, idleMs: QUICK ? 0 : 61_000 };
const C = PROFILE
  ? { bulkPods: 200, bulkPodBytes: 130_000, watches: 300 }
  : QUICK
    ? {
        rounds: 2,
        bulkRounds: 1,
        seqN: 200,
        seqWarm: 50,
        seqJitWarm: 1000,
        conc: 64,
        concWarmMs: 300,
        concMs: 1000,
        launches: 2,
        bulkPods: 100,
        bulkPodBytes: 130_000,
        watches: 200,
        watchEvents: 3,
        watchRounds: 1,
        holReaders: 20,
        holBig: 10,
        holBigBytes: 512_000,
      }
    : {
        rounds: 5,
        bulkRounds: 3,
        seqN: 1000,
        seqWarm: 100,
        seqJitWarm: 3000,
        conc: 64,
        concWarmMs: 500,
        concMs: 2500,
        launches: 5,
        bulkPods: 800,
        bulkPodBytes: 130_000,
        watches: 1000,
        watchEvents: 5,
        watchRounds: 2,
        holReaders: 50,
        holBig: 60,
        holBigBytes: 512_000,
      };

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const HARD_LIMIT_MS = 14 * 60_000;
const log = (...a) => console.error(...a);
const started = Date.now();
const elapsed = () => `${((Date.now() - started) / 1000).toFixed(0)}s`;

// Never outlive the budget, whatever hangs.
setTimeout(() => {
  log('bench: hard time limit reached, stopping');
  process.exit(2);
}, HARD_LIMIT_MS).unref();

const rotate = (xs, k) => xs.map((_, i) => xs[(i + k) % xs.length]);

async function main() {
  const dir = await mkdtemp(join(tmpdir(), 'arcproxy-bench-'));
  log(
    `bench: ${LAUNCH_ONLY ? 'launch' : ''}${QUICK ? ' quick' : PROFILE ? 'profile' : LAUNCH_ONLY ? '' : 'full'} run, node ${process.version}, ${cpus().length} CPUs`,
  );
  if (WAN_ONLY) {
    try {
      console.log(renderWan(await wanSection({ ...WAN, dir, log })));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    return;
  }
  const emu = await startEmulatorProcess();
  const cleanups = [() => emu.close(), () => rm(dir, { recursive: true, force: true })];
  try {
    const token = emu.env.ARCPROXY_EMULATOR_SA_TOKEN;
    if (LAUNCH_ONLY) {
      const forms = summariseLaunchForms(await measureLaunchForms({ emu, token, dir, rounds: QUICK ? 2 : 5 }));
      console.log(renderLaunchForms(forms));
      return;
    }
    const direct = directTarget({ url: emu.apiserverUrl, ca: emu.ca, token });
    const { cred, cloud } = await relayCredential(emu);
    const relay = relayTarget({ cred, cloud, token });

    log(`bench: filling ${BULK_NS} with ${C.bulkPods} pods of ~${C.bulkPodBytes} bytes (${elapsed()})`);
    await fillNamespace(direct, BULK_NS, C.bulkPods, C.bulkPodBytes);

    if (PROFILE) return await profileRun({ emu, dir, token });

    const results = { config: C, launch: [], rounds: [], bulk: [], watches: [], singleWatches: [], headOfLine: [] };

    // Launch-to-ready and the first request after ready, then later requests on new connections
    // (each kubectl run opens one), interleaved with fresh direct and relay connection pools.
    for (let i = 0; i < C.launches; i++) {
      const nodeMs = await nodeStartupMs();
      const p = await launchArcproxy({ emulatorEnv: emu.env, token, dir, launcher: 'bin' });
      const a = await firstRequest(arcproxyTarget(p));
      await p.stop();
      const d = await firstRequest(direct);
      const r = await firstRequest(relay);
      results.launch.push({ nodeStartupMs: nodeMs, readyMs: p.readyMs, arcproxy: a, direct: d, relay: r });
      log(
        `bench: launch ${i + 1}: node ${nodeMs.toFixed(0)} ms, ready ${p.readyMs.toFixed(0)} ms, first request ${a.first.toFixed(1)} ms (later, new connection ${a.laterFresh.toFixed(2)}; kept-alive ${a.warm.toFixed(2)}), direct first ${d.first.toFixed(1)} (later ${d.laterFresh.toFixed(2)}), relay first ${r.first.toFixed(1)} (later ${r.laterFresh.toFixed(2)}) (${elapsed()})`,
      );
    }

    results.launchForms = await measureLaunchForms({ emu, token, dir, rounds: C.launches });

    const proxy = await launchArcproxy({ emulatorEnv: emu.env, token, dir });
    cleanups.unshift(() => proxy.stop());
    const arc = arcproxyTarget(proxy);
    const targets = [direct, relay, arc];
    const pids = { arcproxy: proxy.pid, emulator: emu.pid };
    // The peer: kubectl proxy straight at the same apiserver, a fourth path for the small requests.
    const kproxy = await startKubectlProxy(await writeDirectKubeconfig(join(dir, 'direct.yaml'), { url: emu.apiserverUrl, ca: emu.ca, token }));
    cleanups.unshift(() => kproxy.stop());
    // The floor under arcproxy's own share: node:https doing the least an HTTP proxy does (bench/lib/floors.js).
    const floors = await startFloors({ cred, cloud, token, direct });
    cleanups.unshift(() => floors.stop());
    const smallTargets = [...targets, kubectlProxyTarget(kproxy.port), floors.https];

    // Warm every path's code before the first round: a new process runs its first few thousand
    // requests on code V8 has not optimised yet (arcproxy's CPU per request falls by ~40 % over
    // them), and the target is the warm path a long-running arcproxy serves.
    for (const t of smallTargets) await sequentialGets(t, C.seqJitWarm, 0);

    for (let round = 0; round < C.rounds; round++) {
      const row = {};
      for (const t of rotate(smallTargets, round)) {
        // arcproxy's CPU over its sequential GETs: a slow round that cost no more CPU was the host.
        const cpu0 = t === arc ? cpuSeconds(proxy.pid) : 0;
        const seq = await sequentialGets(t, C.seqN, C.seqWarm);
        if (t === arc) seq.cpuUsPerRequest = ((cpuSeconds(proxy.pid) - cpu0) * 1e6) / (C.seqN + C.seqWarm);
        const conc = await concurrentGets(t, C.conc, C.concWarmMs, C.concMs, t === arc ? proxy.pid : undefined);
        row[t.name] = { seq, conc };
        log(
          `bench: round ${round + 1} ${t.name.padEnd(8)} seq p50 ${seq.p50.toFixed(3)} p99 ${seq.p99.toFixed(3)} ms${seq.cpuUsPerRequest ? ` (arcproxy CPU ${seq.cpuUsPerRequest.toFixed(0)} µs/request)` : ''} | 64 conc ${conc.rps.toFixed(0)} req/s p50 ${conc.p50.toFixed(2)} p99 ${conc.p99.toFixed(2)} ms${conc.errors ? ` errors ${conc.errors}` : ''} (${elapsed()})`,
        );
      }
      results.rounds.push(row);
    }

    for (let round = 0; round < C.bulkRounds; round++) {
      for (const kind of ['list', 'log', 'watch']) {
        const row = { kind };
        for (const t of rotate(targets, round)) {
          row[t.name] = await bulk(t, kind, C.bulkPods, pids);
          const b = row[t.name];
          log(
            `bench: bulk ${kind} ${t.name.padEnd(8)} ${(b.bytes / 1048576).toFixed(0)} MiB ${b.mbPerS.toFixed(0)} MB/s, CPU s/GB ${Object.entries(
              b.cpuSecondsPerGB,
            )
              .map(([k, v]) => `${k} ${v.toFixed(2)}`)
              .join(', ')} (${elapsed()})`,
          );
        }
        results.bulk.push(row);
      }
    }

    // Head-of-line before the 1,000 watches: their aftermath (1,000 streams closing) would skew it.
    for (const t of [direct, arc]) {
      for (const stalled of [false, true]) {
        const h = await headOfLine(
          t,
          direct,
          C.holReaders,
          C.holBig,
          C.holBigBytes,
          stalled,
          `${t.name}${stalled ? 's' : 'b'}`,
          t === arc ? pids : { emulator: emu.pid },
        );
        results.headOfLine.push({ target: t.name, ...h });
        log(
          `bench: head-of-line ${t.name.padEnd(8)} ${stalled ? 'stalled ' : 'baseline'} p50 ${h.p50?.toFixed(1)} p99 ${h.p99?.toFixed(1)} max ${h.max?.toFixed(1)} ms, missed ${h.missed}, stalled reader got all ${h.stalledReaderGotAll}, RSS growth ${JSON.stringify(h.rssGrowthMB)} (${elapsed()})`,
        );
      }
    }
    for (let round = 0; round < C.watchRounds; round++) {
      const order = ['direct', 'arcproxy', 'arcproxy-h2'];
      for (const which of rotate(order, round)) {
        // Through arcproxy, a fresh process: its RSS then reflects the watches, not what the bulk
        // workloads before them left behind in the long-running one.
        const fresh = which === 'direct' ? undefined : await launchArcproxy({ emulatorEnv: emu.env, token, dir });
        const t = !fresh ? direct : which === 'arcproxy-h2' ? arcproxyH2Target(fresh) : arcproxyTarget(fresh);
        let w;
        try {
          w = await manyWatches(t, direct, C.watches, C.watchEvents, `${t.name}${round}`, fresh?.pid, fresh ? emu.probe : undefined);
        } finally {
          await fresh?.stop();
        }
        results.watches.push({ target: t.name, ...w });
        log(
          `bench: ${C.watches} watches ${t.name.padEnd(8)} open in ${w.openMs.toFixed(0)} ms, delivery p50 ${w.p50?.toFixed(1)} p99 ${w.p99?.toFixed(1)} max ${w.max?.toFixed(1)} ms, missed ${w.missed}${w.rssWithWatchesMB ? `, arcproxy RSS ${w.rssBeforeMB.toFixed(0)} -> ${w.rssWithWatchesMB.toFixed(0)} MB (${w.perWatchKB.toFixed(0)} KB/watch), fds ${w.fdsWithWatches}` : ''}${w.hops ? `; latest delivery: upstream ${w.hops.upstream.toFixed(1)}, relay ${w.hops.relay.toFixed(1)}, arcproxy ${w.hops.arcproxy.toFixed(1)} ms; arcproxy's share p50 ${w.share.p50.toFixed(1)} p99 ${w.share.p99.toFixed(1)} ms; arcproxy CPU ${w.cpuMsPerEvent.toFixed(0)} ms/event` : ''} (${elapsed()})`,
        );
        if (fresh) {
          // A single watch the same way, for arcproxy's own share of one delivery: the baseline of the many.
          const one = await launchArcproxy({ emulatorEnv: emu.env, token, dir });
          try {
            const single = await manyWatches(
              which === 'arcproxy-h2' ? arcproxyH2Target(one) : arcproxyTarget(one),
              direct,
              1,
              C.watchEvents,
              `${t.name}${round}one`,
              one.pid,
              emu.probe,
            );
            results.singleWatches.push({ target: t.name, ...single });
            log(
              `bench: 1 watch ${t.name.padEnd(8)} delivery p50 ${single.p50?.toFixed(2)} ms, arcproxy's share p50 ${single.share?.p50?.toFixed(2)} ms (${elapsed()})`,
            );
          } finally {
            await one.stop();
          }
        }
      }
    }

    results.arcproxyFinal = { rssMB: rssBytes(proxy.pid) / 1e6, cpuSeconds: cpuSeconds(proxy.pid) };
    log(`bench: WAN section (${elapsed()})`);
    const wan = await wanSection({ ...WAN, dir, log });
    const peer = summarisePeer(results.rounds, results.launch);

    const summary = summariseResults(results);
    const env = {
      date: new Date().toISOString(),
      node: process.version,
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model,
      commit: gitCommit(),
      quick: QUICK,
      durationS: (Date.now() - started) / 1000,
    };
    const targetsMet = evaluateTargets(summary);
    console.log(renderTable(summary, targetsMet, env));
    console.log(renderPeer(peer));
    console.log(renderWan(wan));
    await mkdir(join(ROOT, 'bench', 'results'), { recursive: true });
    const file = join(ROOT, 'bench', 'results', `${env.date.slice(0, 10)}${QUICK ? '-quick' : ''}.json`);
    await writeFile(file, `${JSON.stringify({ env, summary, targets: targetsMet, peer, wan, raw: results }, null, 2)}\n`);
    log(`bench: wrote ${file} (${elapsed()})`);
  } finally {
    for (const c of cleanups) await c().catch((e) => log(`bench: cleanup: ${e.message}`));
  }
}

/**
 * Launch-to-ready from the user's own command — the bin (its shebang starts Node), `npx arcproxy`,
 * the single executable — each round beside `node -e 0` (the floor under any Node launch), the
 * forms in a rotated order so none always runs first.
 */
async function measureLaunchForms({ emu, token, dir, rounds }) {
  let forms = ['bin', 'npx', 'executable'];
  try {
    ensureSingleExecutable();
  } catch (err) {
    log(`bench: the single executable could not be built (${err.message}): its launch is not measured`);
    forms = forms.filter((f) => f !== 'executable');
  }
  const runs = [];
  for (let i = 0; i < rounds; i++) {
    const row = { nodeMs: await nodeStartupMs() };
    for (const form of rotate(forms, i)) {
      const p = await launchArcproxy({ emulatorEnv: emu.env, token, dir, launcher: form });
      await p.stop();
      row[form] = p.readyMs;
    }
    runs.push(row);
    log(`bench: launch round ${i + 1}: node -e 0 ${row.nodeMs.toFixed(0)} ms, ${forms.map((f) => `${f} ${row[f].toFixed(0)} ms`).join(', ')} (${elapsed()})`);
  }
  return { forms, runs };
}

/** Medians per form, and each as a multiple of the median `node -e 0` of the same run. */
function summariseLaunchForms({ forms, runs }) {
  const nodeMs = median(runs.map((r) => r.nodeMs));
  const out = { rounds: runs.length, nodeMs, forms: {} };
  for (const f of forms) {
    const ms = median(runs.map((r) => r[f]));
    out.forms[f] = { ms, ratio: ms / nodeMs, all: runs.map((r) => Math.round(r[f])) };
  }
  return out;
}

function gitCommit() {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
  } catch {
    return undefined;
  }
}

/** Medians over rounds, per path. */
function summariseResults(r) {
  const names = ['direct', 'relay', 'arcproxy'];
  const pick = (rows, f) => median(rows.map(f));
  const s = { seq: {}, conc: {}, bulkList: {}, bulkLog: {}, bulkWatch: {}, first: {}, launch: {}, watches: {}, hol: {} };
  s.launchForms = summariseLaunchForms(r.launchForms);
  for (const n of names) {
    s.seq[n] = { p50: pick(r.rounds, (x) => x[n].seq.p50), p99: pick(r.rounds, (x) => x[n].seq.p99) };
    s.conc[n] = {
      rps: pick(r.rounds, (x) => x[n].conc.rps),
      p50: pick(r.rounds, (x) => x[n].conc.p50),
      p99: pick(r.rounds, (x) => x[n].conc.p99),
      errors: r.rounds.reduce((a, x) => a + x[n].conc.errors, 0),
    };
    for (const [key, kind] of [
      ['bulkList', 'list'],
      ['bulkLog', 'log'],
      ['bulkWatch', 'watch'],
    ]) {
      const rows = r.bulk.filter((b) => b.kind === kind);
      s[key][n] = {
        mbPerS: pick(rows, (x) => x[n].mbPerS),
        bytes: rows[0]?.[n].bytes,
        cpuSecondsPerGB: Object.fromEntries(Object.keys(rows[0]?.[n].cpuSecondsPerGB ?? {}).map((k) => [k, pick(rows, (x) => x[n].cpuSecondsPerGB[k])])),
      };
    }
    s.first[n] = { first: pick(r.launch, (x) => x[n].first), warm: pick(r.launch, (x) => x[n].warm), laterFresh: pick(r.launch, (x) => x[n].laterFresh) };
  }
  s.conc.arcproxy.cpuUsPerRequest = pick(r.rounds, (x) => x.arcproxy.conc.cpuUsPerRequest);
  // arcproxy's own share, paired by round: each round's arcproxy p50 minus the relay p50 of the
  // same round (the medians of each path over 5 rounds can come from different rounds).
  s.seq.ownShare = pick(r.rounds, (x) => x.arcproxy.seq.p50 - x.relay.seq.p50);
  s.launch = {
    readyMs: median(r.launch.map((x) => x.readyMs)),
    readyMsAll: r.launch.map((x) => Math.round(x.readyMs)),
    nodeStartupMs: median(r.launch.map((x) => x.nodeStartupMs)),
  };
  for (const n of ['direct', 'arcproxy', 'arcproxy-h2']) {
    const w = r.watches.filter((x) => x.target === n);
    s.watches[n] = {
      p50: median(w.map((x) => x.p50)),
      p99: median(w.map((x) => x.p99)),
      max: Math.max(...w.map((x) => x.max)),
      missed: w.reduce((a, x) => a + x.missed, 0),
      openMs: median(w.map((x) => x.openMs)),
    };
    if (n !== 'direct') {
      const one = r.singleWatches.filter((x) => x.target === n);
      Object.assign(s.watches[n], {
        rssWithWatchesMB: median(w.map((x) => x.rssWithWatchesMB)),
        rssBeforeMB: median(w.map((x) => x.rssBeforeMB)),
        perWatchKB: median(w.map((x) => x.perWatchKB)),
        cpuMsPerEvent: median(w.map((x) => x.cpuMsPerEvent)),
        // Where the latest delivery's time went, and arcproxy's own share of each (workloads.js eventShares).
        hops: {
          upstream: median(w.map((x) => x.hops?.upstream)),
          relay: median(w.map((x) => x.hops?.relay)),
          arcproxy: median(w.map((x) => x.hops?.arcproxy)),
        },
        share: { p50: median(w.map((x) => x.share?.p50)), p99: median(w.map((x) => x.share?.p99)) },
        single: { p50: median(one.map((x) => x.p50)), share: median(one.map((x) => x.share?.p50)) },
      });
    }
    if (n === 'arcproxy-h2') continue;
    const h = r.headOfLine.filter((x) => x.target === n);
    s.hol[n] = Object.fromEntries(
      h.map((x) => [
        x.stalled ? 'stalled' : 'baseline',
        { p99: x.p99, max: x.max, missed: x.missed, stalledReaderGotAll: x.stalledReaderGotAll, rssGrowthMB: x.rssGrowthMB },
      ]),
    );
  }
  s.watchCount = r.watches[0]?.watches;
  return s;
}

/** Separate arcproxy processes under `node --cpu-prof`, one per workload, each summarised. */
async function profileRun({ emu, dir, token }) {
  const profDir = join(ROOT, 'bench', 'results', 'profiles', new Date().toISOString().slice(0, 19).replace(/:/g, ''));
  await mkdir(profDir, { recursive: true });
  const workloads = {
    launch: async () => undefined,
    'small-gets': async (t, p) => {
      await sequentialGets(t, 2000, 100);
      await concurrentGets(t, 64, 500, 4000, p.pid);
    },
    'bulk-list': async (t, p) => {
      for (let i = 0; i < 2; i++) await bulk(t, 'list', C.bulkPods, { arcproxy: p.pid });
    },
    'bulk-log': async (t, p) => {
      for (let i = 0; i < 2; i++) await bulk(t, 'log', C.bulkPods, { arcproxy: p.pid });
    },
    'bulk-watch': async (t, p) => {
      for (let i = 0; i < 2; i++) await bulk(t, 'watch', C.bulkPods, { arcproxy: p.pid });
    },
    watches: async (t, p) => {
      await manyWatches(t, directTarget({ url: emu.apiserverUrl, ca: emu.ca, token }), C.watches, 3, 'prof', p.pid);
    },
  };
  for (const [name, run] of Object.entries(workloads)) {
    const sub = join(profDir, name);
    await mkdir(sub);
    const p = await launchArcproxy({ emulatorEnv: emu.env, token, dir, nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${sub}`] });
    try {
      await run(arcproxyTarget(p), p);
    } catch (err) {
      log(`bench: profile workload ${name} failed: ${err.message}`);
    }
    await p.stop();
    const files = (await readdir(sub)).filter((f) => f.endsWith('.cpuprofile'));
    for (const f of files) printSummary(summarise(join(sub, f), 25), (l) => console.log(`[${name}] ${l}`));
  }
  log(`bench: profiles in ${profDir} (open them in Chrome DevTools > Performance)`);
}

main().then(
  () => process.exit(0),
  (err) => {
    log(`bench: failed: ${err.stack ?? err}`);
    process.exit(1);
  },
);
