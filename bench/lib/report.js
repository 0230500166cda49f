// The printed table and the issue's targets.
const f = (x, d = 2) => (x === undefined || x === null || Number.isNaN(x) ? '—' : Number(x).toFixed(d));

export function evaluateTargets(s) {
  const t = [];
  const add = (name, target, measured, met) => t.push({ name, target, measured, met });
  const own = s.seq.ownShare ?? s.seq.arcproxy.p50 - s.seq.relay.p50;
  add('warm p50 added by arcproxy itself', '<= 0.30 ms', `${f(own, 3)} ms`, own <= 0.3);
  const chain = s.seq.arcproxy.p50 / s.seq.direct.p50;
  add('whole chain p50 vs direct', '<= 3x', `${f(chain)}x`, chain <= 3);
  const bl = s.bulkList.arcproxy.mbPerS / s.bulkList.direct.mbPerS;
  add('bulk throughput, 100 MiB list', '>= 40 % of direct', `${f(100 * bl, 0)} %`, bl >= 0.4);
  const bg = s.bulkLog.arcproxy.mbPerS / s.bulkLog.direct.mbPerS;
  add('bulk throughput, 100 MiB log stream', '>= 40 % of direct', `${f(100 * bg, 0)} %`, bg >= 0.4);
  add('launch-to-ready', '<= 400 ms', `${f(s.launch.readyMs, 0)} ms`, s.launch.readyMs <= 400);
  const exe = s.launchForms?.forms.executable;
  if (exe) add('launch-to-ready, single executable', '<= 400 ms', `${f(exe.ms, 0)} ms`, exe.ms <= 400);
  // Against a later request on a new connection, as each kubectl run makes; the kept-alive ratio
  // (which a new connection's TLS handshake alone can exceed) is shown beside it.
  const a = s.first.arcproxy;
  const first = a.first / a.laterFresh;
  add(
    'first request after ready / later, new conns',
    '<= 2x',
    `${f(first, 1)}x (${f(a.first, 1)} vs ${f(a.laterFresh)} ms); vs a kept-alive request ${f(a.first / a.warm, 1)}x (${f(a.warm)} ms)`,
    first <= 2,
  );
  // Both ways a client can hold its watches: a connection each (HTTP/1.1, e.g. many kubectl
  // processes) and all on one HTTP/2 connection (client-go, kubectl, helm, k9s).
  for (const [key, how] of [
    ['arcproxy', 'HTTP/1.1'],
    ['arcproxy-h2', 'HTTP/2'],
  ]) {
    const w = s.watches[key];
    if (!w || w.p50 === undefined) continue;
    add(`${s.watchCount} watches (${how}): arcproxy RSS`, '<= 150 MB', `${f(w.rssWithWatchesMB, 0)} MB`, w.rssWithWatchesMB <= 150);
    const own = w.hops?.arcproxy;
    const single = w.single?.share;
    if (own !== undefined && single !== undefined)
      add(
        `${s.watchCount} watches (${how}): arcproxy's own delivery share`,
        "<= 2x a single watch's",
        `${f(own, 1)} ms to the latest delivery (${f(own / single, 0)}x a single watch's ${f(single)} ms); p50 / p99 over deliveries ${f(w.share.p50, 1)} / ${f(w.share.p99, 1)} ms`,
        own <= 2 * single,
      );
    add(
      `${s.watchCount} watches (${how}): latest event`,
      '<= 50 ms',
      `max ${f(w.max, 1)} ms (p99 ${f(w.p99, 1)})${w.missed ? `, ${w.missed} missed` : ''}`,
      w.max <= 50 && w.missed === 0,
    );
  }
  const h = s.hol.arcproxy;
  const holOk =
    h.stalled && h.baseline && h.stalled.missed === 0 && h.stalled.stalledReaderGotAll && h.stalled.p99 <= Math.max(1.5 * h.baseline.p99, h.baseline.p99 + 5);
  add(
    'no head-of-line blocking',
    'stalled p99 <= max(1.5x, +5 ms) of baseline; nothing lost',
    `p99 ${f(h.baseline?.p99, 1)} -> ${f(h.stalled?.p99, 1)} ms, stalled reader got all: ${h.stalled?.stalledReaderGotAll}`,
    Boolean(holOk),
  );
  return t;
}

export function renderTable(s, targets, env) {
  const lines = [];
  const row = (label, d, r, a, unit, ratio = true, share = true) => {
    const places = unit === 'ms' ? 3 : unit === 'x' ? 2 : 1;
    const rat = ratio && typeof a === 'number' && typeof d === 'number' ? `${f(a / d)}x` : '';
    const own = share && typeof a === 'number' && typeof r === 'number' ? `${a - r >= 0 ? '+' : ''}${f(a - r, places)}` : '';
    lines.push(
      `| ${label.padEnd(44)} | ${f(d, places).padStart(9)} | ${f(r, places).padStart(9)} | ${f(a, places).padStart(9)} | ${rat.padStart(8)} | ${own.padStart(9)} |`,
    );
  };
  const firstOver = (key) => ['direct', 'relay', 'arcproxy'].map((n) => s.first[n].first / s.first[n][key]);
  lines.push(`arcproxy benchmark ${env.date} node ${env.node} ${env.cpus} CPUs commit ${env.commit ?? '?'}${env.quick ? ' (QUICK: not for comparison)' : ''}`);
  lines.push('medians of interleaved rounds; "relay" = the chain without arcproxy (a minimal sender in the benchmark)');
  lines.push('');
  lines.push(
    `| ${'metric'.padEnd(44)} | ${'direct'.padStart(9)} | ${'relay'.padStart(9)} | ${'arcproxy'.padStart(9)} | ${'a/direct'.padStart(8)} | ${'a - relay'.padStart(9)} |`,
  );
  lines.push(`|${'-'.repeat(46)}|${'-'.repeat(11)}|${'-'.repeat(11)}|${'-'.repeat(11)}|${'-'.repeat(10)}|${'-'.repeat(11)}|`);
  row('sequential GET p50 (ms)', s.seq.direct.p50, s.seq.relay.p50, s.seq.arcproxy.p50, 'ms');
  row('sequential GET p99 (ms)', s.seq.direct.p99, s.seq.relay.p99, s.seq.arcproxy.p99, 'ms');
  row('64 concurrent: requests/s', s.conc.direct.rps, s.conc.relay.rps, s.conc.arcproxy.rps, '');
  row('64 concurrent: p50 (ms)', s.conc.direct.p50, s.conc.relay.p50, s.conc.arcproxy.p50, 'ms');
  row('64 concurrent: p99 (ms)', s.conc.direct.p99, s.conc.relay.p99, s.conc.arcproxy.p99, 'ms');
  row('first request after ready, new conn (ms)', s.first.direct.first, s.first.relay.first, s.first.arcproxy.first, 'ms');
  row('  later, each on a new conn, median (ms)', s.first.direct.laterFresh, s.first.relay.laterFresh, s.first.arcproxy.laterFresh, 'ms');
  row('  later request, on a kept-alive conn (ms)', s.first.direct.warm, s.first.relay.warm, s.first.arcproxy.warm, 'ms');
  row('  first / later on a new conn (target)', ...firstOver('laterFresh'), 'x', false, false);
  row('  first / later on a kept-alive conn', ...firstOver('warm'), 'x', false, false);
  row('launch-to-ready (ms)', undefined, undefined, s.launch.readyMs, 'ms', false, false);
  row('100 MiB list: MB/s', s.bulkList.direct.mbPerS, s.bulkList.relay.mbPerS, s.bulkList.arcproxy.mbPerS, '');
  row('100 MiB log stream: MB/s', s.bulkLog.direct.mbPerS, s.bulkLog.relay.mbPerS, s.bulkLog.arcproxy.mbPerS, '');
  row('100 MiB chunked watch stream: MB/s', s.bulkWatch.direct.mbPerS, s.bulkWatch.relay.mbPerS, s.bulkWatch.arcproxy.mbPerS, '');
  row('list: arcproxy CPU s/GB', undefined, undefined, s.bulkList.arcproxy.cpuSecondsPerGB.arcproxy, '', false, false);
  row('log stream: arcproxy CPU s/GB', undefined, undefined, s.bulkLog.arcproxy.cpuSecondsPerGB.arcproxy, '', false, false);
  row('chunked stream: arcproxy CPU s/GB', undefined, undefined, s.bulkWatch.arcproxy.cpuSecondsPerGB.arcproxy, '', false, false);
  row(
    'list: emulator CPU s/GB',
    s.bulkList.direct.cpuSecondsPerGB.emulator,
    s.bulkList.relay.cpuSecondsPerGB.emulator,
    s.bulkList.arcproxy.cpuSecondsPerGB.emulator,
    '',
  );
  row(
    'log stream: emulator CPU s/GB',
    s.bulkLog.direct.cpuSecondsPerGB.emulator,
    s.bulkLog.relay.cpuSecondsPerGB.emulator,
    s.bulkLog.arcproxy.cpuSecondsPerGB.emulator,
    '',
  );
  row(
    'list: bench client CPU s/GB',
    s.bulkList.direct.cpuSecondsPerGB.client,
    s.bulkList.relay.cpuSecondsPerGB.client,
    s.bulkList.arcproxy.cpuSecondsPerGB.client,
    '',
  );
  row(
    'log stream: bench client CPU s/GB',
    s.bulkLog.direct.cpuSecondsPerGB.client,
    s.bulkLog.relay.cpuSecondsPerGB.client,
    s.bulkLog.arcproxy.cpuSecondsPerGB.client,
    '',
  );
  for (const [key, how] of [
    ['arcproxy', 'HTTP/1.1, a conn each'],
    ['arcproxy-h2', 'HTTP/2, one conn'],
  ]) {
    const w = s.watches[key];
    if (!w || w.p50 === undefined) continue;
    row(`${s.watchCount} watches (${how}): p50 (ms)`, s.watches.direct.p50, undefined, w.p50, 'ms', true, false);
    row(`${s.watchCount} watches (${how}): p99 (ms)`, s.watches.direct.p99, undefined, w.p99, 'ms', true, false);
    row(`${s.watchCount} watches (${how}): max (ms)`, s.watches.direct.max, undefined, w.max, 'ms', true, false);
    row(`${s.watchCount} watches (${how}): RSS (MB)`, undefined, undefined, w.rssWithWatchesMB, '', false, false);
    row('  arcproxy RSS per watch (KB)', undefined, undefined, w.perWatchKB, '', false, false);
    if (w.hops?.arcproxy !== undefined) {
      row('  latest delivery: create -> relay has it (ms)', undefined, undefined, w.hops.upstream, 'ms', false, false);
      row('  latest delivery: relay -> written to arcproxy (ms)', undefined, undefined, w.hops.relay, 'ms', false, false);
      row('  latest delivery: arcproxy + client read (ms)', undefined, undefined, w.hops.arcproxy, 'ms', false, false);
      row("  arcproxy's share of a delivery, p50 (ms)", undefined, undefined, w.share.p50, 'ms', false, false);
      row("  arcproxy's share of a delivery, p99 (ms)", undefined, undefined, w.share.p99, 'ms', false, false);
      row('  1 watch: delivery p50 (ms)', undefined, undefined, w.single.p50, 'ms', false, false);
      row("  1 watch: arcproxy's share, p50 (ms)", undefined, undefined, w.single.share, 'ms', false, false);
      row('  arcproxy CPU per event, create + delete (ms)', undefined, undefined, w.cpuMsPerEvent, 'ms', false, false);
    }
  }
  row('head-of-line: baseline p99 (ms)', s.hol.direct.baseline?.p99, undefined, s.hol.arcproxy.baseline?.p99, 'ms', true, false);
  row('head-of-line: 1 reader stalled, p99 (ms)', s.hol.direct.stalled?.p99, undefined, s.hol.arcproxy.stalled?.p99, 'ms', true, false);
  row('  arcproxy RSS growth while stalled (MB)', undefined, undefined, s.hol.arcproxy.stalled?.rssGrowthMB?.arcproxy, '', false, false);
  lines.push('');
  lines.push('first request: right after ready, on a new connection (TLS handshake included); later: after 20 warm ones, each on a new');
  lines.push("connection without TLS session reuse (as each kubectl run opens one; the target's baseline), or kept alive (median of 20)");
  lines.push(
    `arcproxy CPU per small request at 64 concurrent: ${f(s.conc.arcproxy.cpuUsPerRequest, 0)} µs; launch-to-ready runs: ${s.launch.readyMsAll.join(', ')} ms (node -e 0 alone: ${f(s.launch.nodeStartupMs, 0)} ms)`,
  );
  if (s.launchForms) lines.push('', renderLaunchForms(s.launchForms));
  lines.push('');
  lines.push('targets (issue 5):');
  for (const t of targets) lines.push(`  ${t.met ? 'MET ' : 'MISS'}  ${t.name.padEnd(44)} ${t.target.padEnd(24)} ${t.measured}`);
  return lines.join('\n');
}

const LAUNCH_FORMS = {
  bin: { label: 'arcproxy (the installed bin)', target: 400 },
  npx: { label: 'npx arcproxy', target: undefined },
  executable: { label: 'single executable', target: 400 },
};

/** Launch-to-ready from the user's own command, per form, against `node -e 0` of the same run. */
export function renderLaunchForms(lf) {
  const lines = [`launch-to-ready from the user's command, median of ${lf.rounds} (node -e 0: ${f(lf.nodeMs, 0)} ms in the same run):`];
  for (const [form, m] of Object.entries(lf.forms)) {
    const { label, target } = LAUNCH_FORMS[form];
    const verdict = target === undefined ? 'no target' : `${m.ms <= target ? 'MET ' : 'MISS'} <= ${target} ms`;
    lines.push(`  ${label.padEnd(30)} ${f(m.ms, 0).padStart(5)} ms  ${f(m.ratio, 1).padStart(5)}x node -e 0   ${verdict}   (runs: ${m.all.join(', ')} ms)`);
  }
  return lines.join('\n');
}
