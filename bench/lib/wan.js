// The WAN section: real kubectl commands through arcproxy with the emulated relay on loopback and
// then "in Azure" (every byte between a relay client and the relay waits a one-way latency:
// seed relayLatencyMs, /faults/relay-latency), each beside its ideal — kubectl's own time measured
// direct plus the fewest relay round trips the command needs — and the relay dials it caused
// (the emulator's /relay-counters). Its own emulator process, seeded with relayLatencyMs so the
// delay stage carries every connection and a latency change reaches them all.
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startEmulatorProcess, launchArcproxy } from './processes.js';
import { median } from './stats.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const KUBECTL = join(ROOT, '.tools', 'kubectl', 'kubectl');

/**
 * One-way times a relay costs, counted from the relay protocol (docs/emulator.md): a request on an
 * open stream crosses both legs both ways (4); a new stream costs its sender TCP, TLS 1.3 and the
 * upgrade request (5), the accept over the listener's control channel (1), the listener's own TCP,
 * TLS and accept request (5) and the 101 back (1): 12, i.e. three relay round trips.
 */
export const ONE_WAYS_PER_REQUEST = 4;
export const ONE_WAYS_PER_DIAL = 12;

/**
 * The commands, each with the relay round trips it cannot do without (on warm streams, in
 * sequence: requests kubectl sends in parallel count once).
 *  - get pods, discovery cached: GET pods.
 *  - get pods, cold discovery: GET /api, then /apis (client-go asks them one after the other), then
 *    every group version at once (the emulated apiserver serves no aggregated discovery: 12),
 *    then GET pods: 4. Run
 *    against an arcproxy just started (and settled), as a user's first command meets it: its
 *    pool has only what start-up warmed, so the burst shows how many streams that is.
 *  - exec … echo: GET pod, the upgrade, the output and exit status on their way back (half): 2.5.
 *  - logs: GET pod, GET log: 2.
 */
export const COMMANDS = [
  { key: 'getWarm', label: 'get pods (discovery cached)', args: ['get', 'pods', '-n', 'default'], roundTrips: 1, cache: 'warm' },
  { key: 'getCold', label: 'get pods (cold discovery, new arcproxy)', args: ['get', 'pods', '-n', 'default'], roundTrips: 4, cache: 'cold', freshProxy: true },
  { key: 'exec', label: 'exec hello-0 -- echo hi', args: ['exec', '-n', 'default', 'hello-0', '--', 'echo', 'hi'], roundTrips: 2.5, cache: 'warm' },
  { key: 'logs', label: 'logs hello-1', args: ['logs', '-n', 'default', 'hello-1'], roundTrips: 2, cache: 'warm' },
];
const IDLE = { key: 'afterIdle', label: 'get pods after idle', roundTrips: 1 };

/**
 * Runs kubectl to completion, at -v=6 so that it logs each request it sends with its duration.
 * Resolves its wall time (ms), how many requests it sent, and their span: from the first one's
 * start to the last one's end, by kubectl's own clock. Wall minus span is kubectl's own time
 * (process start, reading caches, printing); the span is what the path to the apiserver costs.
 */
export function runKubectl(args, { kubeconfig, cacheDir }) {
  const env = { ...process.env };
  delete env.KUBECONFIG;
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(KUBECTL, ['--kubeconfig', kubeconfig, '--cache-dir', cacheDir, '-v=6', ...args], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    child.once('error', reject);
    child.once('exit', (code) => {
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      if (code === 0) resolve({ ms, ...requestsOf(err) });
      else reject(new Error(`kubectl ${args.join(' ')} exited ${code}: ${err.trim().slice(0, 400)}`));
    });
  });
}

/** From kubectl's -v=6 log: one line per response, stamped when it came, with the request's duration. */
function requestsOf(log) {
  const spans = [];
  for (const line of log.split('\n')) {
    const m = /^I\d{4} (\d\d):(\d\d):(\d\d\.\d+) .*"Response".* milliseconds=(\d+)/.exec(line);
    if (!m) continue;
    const end = (Number(m[1]) * 60 + Number(m[2])) * 60_000 + Number(m[3]) * 1000;
    spans.push([end - Number(m[4]), end]);
  }
  if (spans.length === 0) return { requests: 0, requestSpanMs: 0 };
  return { requests: spans.length, requestSpanMs: Math.max(...spans.map((x) => x[1])) - Math.min(...spans.map((x) => x[0])) };
}

/** A kubeconfig straight at the emulated apiserver, with the service-account token. */
export async function writeDirectKubeconfig(file, { url, ca, token }) {
  const yaml = [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    `- name: direct`,
    `  cluster: {server: "${url}", certificate-authority-data: ${Buffer.from(ca).toString('base64')}}`,
    'users:',
    `- name: direct`,
    `  user: {token: "${token}"}`,
    'contexts:',
    '- name: direct',
    '  context: {cluster: direct, user: direct}',
    'current-context: direct',
    '',
  ].join('\n');
  await writeFile(file, yaml, { mode: 0o600 });
  return file;
}

function admin(emu, method, path, body) {
  const url = new URL(path, emu.env.ARCPROXY_EMULATOR_ADMIN_URL);
  return new Promise((resolve, reject) => {
    const req = https.request(
      url,
      { method, ca: emu.ca, headers: { authorization: `Bearer ${emu.env.ARCPROXY_EMULATOR_ADMIN_KEY}`, 'content-type': 'application/json' } },
      (res) => {
        let text = '';
        res.on('data', (d) => (text += d));
        res.on('end', () => (res.statusCode === 200 ? resolve(JSON.parse(text)) : reject(new Error(`admin ${path}: ${res.statusCode} ${text}`))));
      },
    );
    req.once('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

const relayCounters = (emu) => admin(emu, 'GET', '/relay-counters');

/** Waits until no relay connection has been made for a dial's time (background dials landed); bounded. */
async function settle(emu, oneWayMs) {
  const quietMs = ONE_WAYS_PER_DIAL * oneWayMs + 100;
  const deadline = Date.now() + 10_000;
  let last = (await relayCounters(emu)).relayedConnections;
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, quietMs));
    const now = (await relayCounters(emu)).relayedConnections;
    if (now === last) return now;
    last = now;
  }
  return last;
}

/**
 * Measures every command direct and through arcproxy at each latency.
 * @param {{ latencies: number[], reps: number, idleMs: number, dir: string, log: (...a: any[]) => void }} o
 */
export async function wanSection({ latencies, reps, idleMs, dir, log }) {
  const emu = await startEmulatorProcess({ relayLatencyMs: 0 });
  const work = await mkdtemp(join(dir, 'wan-'));
  const token = emu.env.ARCPROXY_EMULATOR_SA_TOKEN;
  const directKc = await writeDirectKubeconfig(join(work, 'direct.yaml'), { url: emu.apiserverUrl, ca: emu.ca, token });
  const warmCache = join(work, 'cache-direct');
  let cold = 0;
  const cacheFor = (cmd, warm) => (cmd.cache === 'cold' ? join(work, `cold-${++cold}`) : warm);
  const result = { reps, idleMs, oneWaysPerRequest: ONE_WAYS_PER_REQUEST, oneWaysPerDial: ONE_WAYS_PER_DIAL, direct: {}, latencies: [] };
  try {
    // kubectl's own time: the same commands straight at the apiserver (no relay in the way).
    await runKubectl(['get', 'pods', '-n', 'default'], { kubeconfig: directKc, cacheDir: warmCache });
    result.directRequests = {};
    for (const cmd of COMMANDS) {
      const runs = [];
      for (let i = 0; i < reps; i++) runs.push(await runKubectl(cmd.args, { kubeconfig: directKc, cacheDir: cacheFor(cmd, warmCache) }));
      result.direct[cmd.key] = median(runs.map((r) => r.ms));
      result.directRequests[cmd.key] = { requests: median(runs.map((r) => r.requests)), requestSpanMs: median(runs.map((r) => r.requestSpanMs)) };
    }
    result.direct[IDLE.key] = result.direct.getWarm;
    result.directRequests[IDLE.key] = result.directRequests.getWarm;
    log(
      `bench: wan direct ${Object.entries(result.direct)
        .map(([k, v]) => `${k} ${v.toFixed(0)} ms`)
        .join(', ')}`,
    );

    for (const oneWayMs of latencies) {
      await admin(emu, 'POST', '/faults/relay-latency', { ms: oneWayMs });
      const p = await launchArcproxy({ emulatorEnv: emu.env, token, dir: work });
      const row = { oneWayMs, readyMs: p.readyMs, commands: {} };
      try {
        const cache = join(work, `cache-arc-${oneWayMs}`);
        await runKubectl(['get', 'pods', '-n', 'default'], { kubeconfig: p.kubeconfig, cacheDir: cache });
        const measure = async (proxy, args, cacheDir) => {
          const before = await settle(emu, oneWayMs);
          const run = await runKubectl(args, { kubeconfig: proxy.kubeconfig, cacheDir });
          // Refills (the warm spare's replacement) are dialled after the command: counted too.
          const after = await settle(emu, oneWayMs);
          return { ...run, dials: after - before };
        };
        for (const cmd of COMMANDS) {
          const runs = [];
          for (let i = 0; i < reps; i++) {
            if (!cmd.freshProxy) {
              runs.push(await measure(p, cmd.args, cacheFor(cmd, cache)));
              continue;
            }
            const fresh = await launchArcproxy({ emulatorEnv: emu.env, token, dir: work });
            try {
              runs.push(await measure(fresh, cmd.args, cacheFor(cmd, cache)));
            } finally {
              await fresh.stop();
            }
          }
          row.commands[cmd.key] = summarise(cmd, runs, result.direct[cmd.key], result.directRequests[cmd.key], oneWayMs);
        }
        if (idleMs > 0) {
          // Past arcproxy's idle-stream timeout (60 s, no flag shortens it): pooled streams are gone.
          await new Promise((r) => setTimeout(r, idleMs));
          const run = await measure(p, ['get', 'pods', '-n', 'default'], cache);
          row.commands[IDLE.key] = summarise(IDLE, [run], result.direct[IDLE.key], result.directRequests[IDLE.key], oneWayMs);
        }
      } finally {
        await p.stop();
      }
      result.latencies.push(row);
      log(
        `bench: wan ${oneWayMs} ms one way: ${Object.entries(row.commands)
          .map(
            ([k, c]) =>
              `${k} ${c.ms.toFixed(0)} ms (ideal ${c.idealMs.toFixed(0)}, ${c.dials} dials, ${c.requests} requests over ${c.requestSpanMs.toFixed(0)} ms)`,
          )
          .join(', ')}`,
      );
    }
  } finally {
    await emu.close();
    await rm(work, { recursive: true, force: true });
  }
  return result;
}

function summarise(cmd, runs, directMs, directRequests, oneWayMs) {
  const idealMs = directMs + cmd.roundTrips * ONE_WAYS_PER_REQUEST * oneWayMs;
  const ms = median(runs.map((r) => r.ms));
  const dials = runs.map((r) => r.dials);
  return {
    ms,
    directMs,
    idealMs,
    overIdealMs: ms - idealMs,
    roundTrips: cmd.roundTrips,
    dials: median(dials),
    allDials: dials,
    allMs: runs.map((r) => Math.round(r.ms)),
    requests: median(runs.map((r) => r.requests)),
    requestSpanMs: median(runs.map((r) => r.requestSpanMs)),
    direct: directRequests,
  };
}

export function renderWan(wan) {
  if (!wan) return '';
  const labels = Object.fromEntries([...COMMANDS, IDLE].map((c) => [c.key, c.label]));
  const lines = [
    '',
    `WAN: kubectl through arcproxy, emulated relay latency one way on each leg (medians of ${wan.reps}; ideal = kubectl direct + relay round trips x 4 one-way times)`,
    '',
    '| command | one way | arcproxy | ideal | over ideal | relay round trips | relay dials | direct | requests | request span (direct) |',
    '|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const row of wan.latencies) {
    for (const [key, c] of Object.entries(row.commands)) {
      lines.push(
        `| ${labels[key]} | ${row.oneWayMs} ms | ${c.ms.toFixed(0)} ms | ${c.idealMs.toFixed(0)} ms | ${c.overIdealMs >= 0 ? '+' : ''}${c.overIdealMs.toFixed(0)} ms | ${c.roundTrips} | ${c.dials} | ${c.directMs.toFixed(0)} ms | ${c.requests} | ${c.requestSpanMs.toFixed(0)} ms (${c.direct.requestSpanMs.toFixed(0)} ms) |`,
      );
    }
  }
  lines.push(
    '',
    `launch-to-ready: ${wan.latencies.map((r) => `${r.readyMs.toFixed(0)} ms at ${r.oneWayMs} ms one way`).join(', ')} (the relay check opens a stream and sends a request through it: ${wan.oneWaysPerDial + wan.oneWaysPerRequest} one-way times on top of the loopback start-up)`,
  );
  lines.push(
    '',
    `A new relay stream costs ${wan.oneWaysPerDial} one-way times (${wan.oneWaysPerDial / 4} relay round trips); "relay dials" counts every relayed connection the command caused, background refills of the warm spare included.`,
    '"requests": what kubectl sent (its -v=6 log); "request span": from the first request\'s start to the last response, by kubectl\'s clock (wall time minus span is kubectl\'s own: process start, caches, printing).',
  );
  if (!wan.idleMs) lines.push('"get pods after idle" needs a 61 s wait per latency (the pool idle timeout); left out of --quick.');
  return lines.join('\n');
}

/** Starts `kubectl proxy` on a free port in front of the apiserver; resolves its address. */
export async function startKubectlProxy(kubeconfig) {
  const env = { ...process.env };
  delete env.KUBECONFIG;
  const child = spawn(KUBECTL, ['--kubeconfig', kubeconfig, 'proxy', '--port=0', '--address=127.0.0.1'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const port = await new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`kubectl proxy not ready within 10 s: ${out}`)), 10_000);
    const onData = (d) => {
      out += d;
      const m = /Starting to serve on [\d.]+:(\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => reject(new Error(`kubectl proxy exited (${code}): ${out}`)));
  });
  child.removeAllListeners('exit');
  process.on('exit', () => child.kill('SIGKILL'));
  return {
    port,
    pid: child.pid,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve(undefined);
        child.once('exit', () => resolve(undefined));
        child.kill('SIGTERM');
      }),
  };
}

/** `kubectl proxy` as a path: plain HTTP on loopback, kubectl adds the credential. */
export function kubectlProxyTarget(port) {
  return {
    name: 'kubectl-proxy',
    mod: http,
    host: '127.0.0.1',
    port,
    prefix: '',
    headers: {},
    newAgent: (o = {}) => new http.Agent({ keepAlive: true, maxSockets: Infinity, ...o }),
  };
}

/**
 * The peer from the same run: what each proxy adds to a warm small GET — arcproxy's own share
 * (arcproxy minus the relay path without it) against kubectl proxy's (kubectl proxy minus direct)
 * — and launch-to-ready against `node -e 0`, both as ratios the host's speed moves alike.
 */
export function summarisePeer(rounds, launch) {
  const p50 = (name) => median(rounds.map((r) => r[name].seq.p50));
  const rps = (name) => median(rounds.map((r) => r[name].conc.rps));
  // Paired by round: each round's difference, then the median (each path's median may come from
  // a different round, and two such medians differ by more than the shares being compared).
  const paired = (name, base) => median(rounds.map((r) => r[name].seq.p50 - r[base].seq.p50));
  const arcOwn = paired('arcproxy', 'relay');
  const kubectlProxyAdds = paired('kubectl-proxy', 'direct');
  const floorOwn = rounds.every((r) => r['https-floor']) ? paired('https-floor', 'relay') : undefined;
  const readyMs = median(launch.map((x) => x.readyMs));
  const nodeMs = median(launch.map((x) => x.nodeStartupMs));
  return {
    seqP50: { direct: p50('direct'), relay: p50('relay'), arcproxy: p50('arcproxy'), 'kubectl-proxy': p50('kubectl-proxy') },
    concRps: { direct: rps('direct'), relay: rps('relay'), arcproxy: rps('arcproxy'), 'kubectl-proxy': rps('kubectl-proxy') },
    arcproxyOwnMs: arcOwn,
    kubectlProxyAddsMs: kubectlProxyAdds,
    ownShareRatio: arcOwn / kubectlProxyAdds,
    // node:https doing the least an HTTP proxy does, on the same relay streams (bench/lib/floors.js).
    floorOwnMs: floorOwn,
    floorShareRatio: floorOwn === undefined ? undefined : floorOwn / kubectlProxyAdds,
    readyMs,
    nodeStartupMs: nodeMs,
    launchRatio: readyMs / nodeMs,
  };
}

export function renderPeer(peer) {
  if (!peer) return '';
  const f = (x, d = 3) => (Number.isFinite(x) ? x.toFixed(d) : '—');
  return [
    '',
    'The peer in the same run: kubectl proxy (Go) in front of the same apiserver',
    '',
    '| | direct | relay only | arcproxy | kubectl proxy |',
    '|---|---|---|---|---|',
    `| sequential GET p50 | ${f(peer.seqP50.direct)} ms | ${f(peer.seqP50.relay)} ms | ${f(peer.seqP50.arcproxy)} ms | ${f(peer.seqP50['kubectl-proxy'])} ms |`,
    `| 64 concurrent, req/s | ${f(peer.concRps.direct, 0)} | ${f(peer.concRps.relay, 0)} | ${f(peer.concRps.arcproxy, 0)} | ${f(peer.concRps['kubectl-proxy'], 0)} |`,
    '',
    `| target | measured | met |`,
    '|---|---|---|',
    `| arcproxy's own warm p50 share <= kubectl proxy's added p50 (each paired by round) | ${f(peer.arcproxyOwnMs)} vs ${f(peer.kubectlProxyAddsMs)} ms (${f(peer.ownShareRatio, 2)}x) | ${peer.ownShareRatio <= 1 ? 'yes' : 'NO'} |`,
    ...(peer.floorOwnMs === undefined
      ? []
      : [
          `| (for scale) the node:https floor's share, paired alike: bench/lib/floors.js | ${f(peer.floorOwnMs)} vs ${f(peer.kubectlProxyAddsMs)} ms (${f(peer.floorShareRatio, 2)}x) | |`,
        ]),
    `| launch-to-ready <= 3x node -e 0 | ${f(peer.readyMs, 0)} vs ${f(peer.nodeStartupMs, 0)} ms (${f(peer.launchRatio, 2)}x) | ${peer.launchRatio <= 3 ? 'yes' : 'NO'} |`,
  ].join('\n');
}
