// The workloads, each run the same way against any target (direct, relay, arcproxy).
import { request, openStream, openH2Stream, readLines } from './http.js';
import { cpuSeconds, rssBytes, openFds } from './proc.js';
import { median, quantile, max } from './stats.js';

export const SMALL_PATH = '/api/v1/namespaces/default/pods/hello-1';
export const BULK_NS = 'bench-bulk';
export const WATCH_NS = 'bench-watch';
export const HOL_NS = 'bench-hol';
/** The pod whose generated log (seed logBytes) is the bulk log stream. */
export const BULK_LOG = { namespace: 'bench-log', pod: 'bench-log', bytes: 100 * 1024 * 1024 };

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const nowNs = () => process.hrtime.bigint();
const msSince = (t0) => Number(process.hrtime.bigint() - t0) / 1e6;

function check(r, what) {
  if (r.status < 200 || r.status >= 300) throw new Error(`${what}: HTTP ${r.status}`);
  return r;
}

/** A pod whose labels make it about `bytes` long in JSON. */
export function podBody(name, bytes) {
  const labels = { app: 'bench' };
  const per = 2000;
  for (let i = 0; bytes > 0; i++, bytes -= per + 16) labels[`bench.example/l${String(i).padStart(4, '0')}`] = 'x'.repeat(Math.max(1, Math.min(per, bytes)));
  return JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name, labels }, spec: { containers: [{ name: 'main', image: 'bench' }] } });
}

/** Creates `count` pods of about `bytes` each in `ns` (8 at a time) through `control` (direct). */
export async function fillNamespace(control, ns, count, bytes) {
  const agent = control.newAgent({ maxSockets: 8 });
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      check(
        await request(control, agent, `/api/v1/namespaces/${ns}/pods`, { method: 'POST', body: podBody(`bulk-${String(i).padStart(5, '0')}`, bytes) }),
        'create pod',
      );
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  agent.destroy();
}

/** Sequential small GETs on one kept-alive connection. */
export async function sequentialGets(target, n, warmup) {
  const agent = target.newAgent({ maxSockets: 1 });
  for (let i = 0; i < warmup; i++) check(await request(target, agent, SMALL_PATH), `${target.name} GET`);
  const lat = [];
  for (let i = 0; i < n; i++) lat.push(check(await request(target, agent, SMALL_PATH), `${target.name} GET`).ms);
  agent.destroy();
  return { p50: median(lat), p99: quantile(lat, 0.99), n };
}

/** `clients` concurrent clients, each sending small GETs back to back, for durationMs after warmMs. */
export async function concurrentGets(target, clients, warmMs, durationMs, pid) {
  const agent = target.newAgent({ maxSockets: clients, maxFreeSockets: clients });
  const lat = [];
  let recording = false;
  let stop = false;
  let errors = 0;
  let warmed = 0;
  let onWarm;
  const allWarm = new Promise((r) => (onWarm = r));
  const worker = async () => {
    let first = true;
    while (!stop) {
      try {
        const r = await request(target, agent, SMALL_PATH, { timeoutMs: 10_000 });
        if (r.status !== 200) errors++;
        else if (recording) lat.push(r.ms);
      } catch {
        errors++;
      }
      if (first) {
        first = false;
        if (++warmed === clients) onWarm();
      }
    }
  };
  const workers = Array.from({ length: clients }, worker);
  // Every client has its connection (a relay dial for the tunnelled paths) before the clock starts.
  await Promise.race([allWarm, sleep(60_000)]);
  await sleep(warmMs);
  const cpu0 = pid ? cpuSeconds(pid) : 0;
  const fds0 = pid ? openFds(pid) : undefined;
  recording = true;
  const t0 = nowNs();
  await sleep(durationMs);
  recording = false;
  const seconds = msSince(t0) / 1000;
  const cpu = pid ? cpuSeconds(pid) - cpu0 : undefined;
  const fds1 = pid ? openFds(pid) : undefined;
  stop = true;
  await Promise.all(workers);
  agent.destroy();
  return {
    rps: lat.length / seconds,
    p50: median(lat),
    p99: quantile(lat, 0.99),
    errors,
    ...(pid ? { cpuUsPerRequest: (cpu * 1e6) / lat.length, fdsBefore: fds0, fdsAfter: fds1 } : {}),
  };
}

/**
 * The first request on a fresh connection pool (TLS, and for relay a dial, included), 20 warm
 * ones on its kept-alive connection, then `later` requests each on a new connection — a new agent,
 * so no TLS session reuse — as each kubectl invocation makes: the fair baseline for the first.
 */
export async function firstRequest(target, later = 10) {
  const agent = target.newAgent({ maxSockets: 1 });
  const first = check(await request(target, agent, SMALL_PATH, { timeoutMs: 20_000 }), `${target.name} first GET`).ms;
  const warm = [];
  for (let i = 0; i < 20; i++) warm.push(check(await request(target, agent, SMALL_PATH), `${target.name} GET`).ms);
  agent.destroy();
  const fresh = [];
  for (let i = 0; i < later; i++) {
    const own = target.newAgent({ keepAlive: false, maxSockets: 1, maxCachedSessions: 0 });
    fresh.push(check(await request(target, own, SMALL_PATH, { timeoutMs: 20_000 }), `${target.name} GET, new connection`).ms);
    own.destroy();
  }
  return { first, warm: median(warm), laterFresh: median(fresh) };
}

function countNewlines(chunk) {
  let n = 0;
  for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) n++;
  return n;
}

/**
 * One bulk response: 'list' (one ~100 MiB PodList with Content-Length), 'log' (BULK_LOG's
 * 100 MiB generated log, chunked text/plain, as `kubectl logs` reads it) or 'watch' (the list's
 * pods as ~800 chunked watch events, until the initial-events BOOKMARK).
 * CPU seconds of the given processes are read before and after.
 */
export async function bulk(target, kind, podCount, pids) {
  const agent = target.newAgent({ keepAlive: false, maxSockets: 1 });
  const cpu0 = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, cpuSeconds(pid)]));
  const self0 = process.cpuUsage();
  let r;
  if (kind === 'list') {
    r = check(await request(target, agent, `/api/v1/namespaces/${BULK_NS}/pods`, { timeoutMs: 120_000 }), `${target.name} list`);
  } else if (kind === 'log') {
    r = check(await request(target, agent, `/api/v1/namespaces/${BULK_LOG.namespace}/pods/${BULK_LOG.pod}/log`, { timeoutMs: 120_000 }), `${target.name} log`);
    if (r.bytes !== BULK_LOG.bytes) throw new Error(`${target.name} log: ${r.bytes} bytes, expected ${BULK_LOG.bytes}`);
  } else {
    let lines = 0;
    r = check(
      await request(target, agent, `/api/v1/namespaces/${BULK_NS}/pods?watch=1&sendInitialEvents=true&allowWatchBookmarks=true`, {
        timeoutMs: 120_000,
        until: (chunk) => (lines += countNewlines(chunk)) >= podCount + 1,
      }),
      `${target.name} watch`,
    );
  }
  const self = process.cpuUsage(self0);
  const cpu = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, cpuSeconds(pid) - cpu0[k]]));
  cpu.client = (self.user + self.system) / 1e6;
  agent.destroy();
  const gb = r.bytes / 1e9;
  return {
    bytes: r.bytes,
    seconds: r.ms / 1000,
    mbPerS: r.bytes / 1e6 / (r.ms / 1000),
    firstByteMs: r.headersMs,
    cpuSecondsPerGB: Object.fromEntries(Object.entries(cpu).map(([k, s]) => [k, s / gb])),
  };
}

/**
 * Times each watch's ADDED event for the pods a workload creates, on `n` watches: `onLine` reads
 * the watches, `expect(name, create)` marks the time, creates the pod and resolves with how many
 * watches had not seen it within 10 s (0 when all did). `lat` holds every delivery in ms;
 * `received(name)` the hrtime (ns, ascending) at which each watch read that pod's ADDED, and
 * `sentAt(name)` when its create was sent.
 */
function addedDelivery(n) {
  const sent = new Map(); // pod name -> t0
  const seen = new Map(); // pod name -> receive times (bigint ns)
  const lat = [];
  let waiter;
  // The pod awaited now, as it appears in its event. The client is the instrument: it finds the
  // name with a string search instead of parsing each event (JSON.parse of 1,000 events took the
  // client ~10 ms per fan-out, on the cores arcproxy needs, and was counted in arcproxy's share).
  let awaited;
  return {
    lat,
    onLine(line, t) {
      if (awaited === undefined || !line.includes('"ADDED"') || !line.includes(awaited.needle)) return;
      const name = awaited.name;
      const t0 = sent.get(name);
      lat.push(Number(t - t0) / 1e6);
      const times = seen.get(name) ?? [];
      seen.set(name, times);
      times.push(t);
      if (times.length === n) waiter?.();
    },
    async expect(name, create) {
      const all = new Promise((resolve) => (waiter = resolve));
      awaited = { name, needle: `"name":"${name}"` };
      sent.set(name, nowNs());
      await create();
      const timedOut = await Promise.race([all.then(() => false), sleep(10_000).then(() => true)]);
      return timedOut ? n - (seen.get(name)?.length ?? 0) : 0;
    },
    received: (name) => (seen.get(name) ?? []).map(Number).sort((a, b) => a - b),
    sentAt: (name) => Number(sent.get(name)),
  };
}

/**
 * Where one event's delivery time went, from the relay's notes (the probe: when it read the event
 * from the agent and had written it to arcproxy, per connection) and the client's receive times.
 * The k-th receipt is set against the k-th relay write (both ascending): their distance is the
 * time the k-th earliest delivery spent in arcproxy (and the client's read), as a queue's delay is
 * read off its arrival and departure curves; it needs no way of telling which relay connection
 * carried which watch. `hops.upstream` is from the create to the relay's read of the last
 * connection's event (apiserver, agent, relay read: the emulator process); `hops.relay` that
 * read to its write towards arcproxy; `hops.arcproxy` the last write to the last receipt.
 */
function eventShares(t0, relayTimes, received) {
  const k = Math.min(relayTimes.toSenderNs.length, received.length);
  const shares = [];
  for (let i = 0; i < k; i++) shares.push((received[i] - relayTimes.toSenderNs[i]) / 1e6);
  const last = (xs) => xs[k - 1];
  return {
    shares,
    hops:
      k === 0
        ? undefined
        : {
            upstream: (last(relayTimes.fromListenerNs) - t0) / 1e6,
            relay: (last(relayTimes.toSenderNs) - last(relayTimes.fromListenerNs)) / 1e6,
            arcproxy: (last(received) - last(relayTimes.toSenderNs)) / 1e6,
            relaySpan: (last(relayTimes.toSenderNs) - relayTimes.toSenderNs[0]) / 1e6,
            receiveSpan: (last(received) - received[0]) / 1e6,
          },
  };
}

/**
 * `n` concurrent watches on WATCH_NS through `target`; then `events` pods are created (through
 * `control`) one at a time and the time from the create call to each watch's ADDED event is
 * recorded. Reports arcproxy's RSS before and with the watches open, its CPU time per event, and
 * with `probe` (the emulator's, for paths through the relay) arcproxy's own share of each
 * delivery (eventShares).
 */
export async function manyWatches(target, control, n, events, tag, pid, probe) {
  const controlAgent = control.newAgent({ maxSockets: 1 });
  // HTTP/1.1: a connection per watch (separate kubectl processes); HTTP/2: all on one (client-go).
  const session = target.openH2Session ? await target.openH2Session() : undefined;
  const agent = session ? undefined : target.newAgent({ keepAlive: false });
  const delivery = addedDelivery(n);
  const { lat, onLine } = delivery;
  const open = session
    ? () => openH2Stream(session, target, `/api/v1/namespaces/${WATCH_NS}/pods?watch=1`, onLine)
    : () => openStream(target, agent, `/api/v1/namespaces/${WATCH_NS}/pods?watch=1`, onLine);
  const rssBefore = pid ? rssBytes(pid) : undefined;
  const t0 = nowNs();
  const streams = [];
  for (let i = 0; i < n; i += 50) {
    const batch = await Promise.all(Array.from({ length: Math.min(50, n - i) }, open));
    streams.push(...batch);
  }
  const openMs = msSince(t0);
  await sleep(1000);
  const rssWith = pid ? rssBytes(pid) : undefined;
  const fdsWith = pid ? openFds(pid) : undefined;
  let missed = 0;
  const shares = [];
  const hops = [];
  const cpu0 = pid ? cpuSeconds(pid) : 0;
  for (let e = 0; e < events; e++) {
    const name = `w-${tag}-${e}`;
    await probe?.arm(name);
    missed += await delivery.expect(name, async () =>
      check(await request(control, controlAgent, `/api/v1/namespaces/${WATCH_NS}/pods`, { method: 'POST', body: podBody(name, 0) }), 'create pod'),
    );
    if (probe) {
      const split = eventShares(delivery.sentAt(name), await probe.collect(), delivery.received(name));
      shares.push(...split.shares);
      if (split.hops) hops.push(split.hops);
    }
    check(await request(control, controlAgent, `/api/v1/namespaces/${WATCH_NS}/pods/${name}`, { method: 'DELETE' }), 'delete pod');
    await sleep(300);
  }
  const cpu = pid ? cpuSeconds(pid) - cpu0 : undefined;
  const rssAfterEvents = pid ? rssBytes(pid) : undefined;
  for (const s of streams) s.req.destroy();
  agent?.destroy();
  session?.close();
  controlAgent.destroy();
  await sleep(1000);
  return {
    watches: n,
    openMs,
    deliveries: lat.length,
    missed,
    p50: median(lat),
    p99: quantile(lat, 0.99),
    max: max(lat),
    ...(shares.length > 0
      ? {
          // arcproxy's own share of each delivery (ms), and where the latest delivery's time went (medians over events).
          share: { p50: median(shares), p99: quantile(shares, 0.99), max: max(shares) },
          hops: {
            upstream: median(hops.map((h) => h.upstream)),
            relay: median(hops.map((h) => h.relay)),
            arcproxy: median(hops.map((h) => h.arcproxy)),
            relaySpan: median(hops.map((h) => h.relaySpan)),
            receiveSpan: median(hops.map((h) => h.receiveSpan)),
          },
        }
      : {}),
    ...(pid
      ? {
          // CPU seconds include the 300 ms pauses, in which arcproxy is idle but for its timers.
          cpuMsPerEvent: (cpu * 1000) / events,
          rssBeforeMB: rssBefore / 1e6,
          rssWithWatchesMB: rssWith / 1e6,
          rssAfterEventsMB: rssAfterEvents / 1e6,
          perWatchKB: (rssWith - rssBefore) / n / 1e3,
          fdsWithWatches: fdsWith,
        }
      : {}),
  };
}

/**
 * Head-of-line: `n` watches on WATCH_NS read normally while one watch on HOL_NS receives
 * `bigCount` large events. With stalled=false its reader keeps up (baseline); with stalled=true
 * it never reads. After each large event a small pod is created on WATCH_NS and its delivery
 * latency to the n readers is recorded. At the end the stalled reader resumes and must get
 * every event it was sent.
 */
export async function headOfLine(target, control, n, bigCount, bigBytes, stalled, tag, pids) {
  const controlAgent = control.newAgent({ maxSockets: 1 });
  const agent = target.newAgent({ keepAlive: false });
  const delivery = addedDelivery(n);
  const { lat, onLine } = delivery;
  const streams = [];
  for (let i = 0; i < n; i++) streams.push(await openStream(target, agent, `/api/v1/namespaces/${WATCH_NS}/pods?watch=1`, onLine));
  let holEvents = 0;
  const hol = await openStream(target, agent, `/api/v1/namespaces/${HOL_NS}/pods?watch=1`, () => holEvents++, { paused: stalled });
  // One unrecorded event first, so every reader is known to be live.
  {
    await delivery.expect(`s-${tag}-warm`, async () =>
      check(await request(control, controlAgent, `/api/v1/namespaces/${WATCH_NS}/pods`, { method: 'POST', body: podBody(`s-${tag}-warm`, 0) }), 'create pod'),
    );
    lat.length = 0;
    await request(control, controlAgent, `/api/v1/namespaces/${WATCH_NS}/pods/s-${tag}-warm`, { method: 'DELETE' });
  }
  const rss0 = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, rssBytes(pid)]));
  let missed = 0;
  for (let e = 0; e < bigCount; e++) {
    check(
      await request(control, controlAgent, `/api/v1/namespaces/${HOL_NS}/pods`, { method: 'POST', body: podBody(`hol-${tag}-${e}`, bigBytes) }),
      'create big pod',
    );
    const name = `s-${tag}-${e}`;
    missed += await delivery.expect(name, async () =>
      check(await request(control, controlAgent, `/api/v1/namespaces/${WATCH_NS}/pods`, { method: 'POST', body: podBody(name, 0) }), 'create pod'),
    );
  }
  await sleep(500);
  const rss1 = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, rssBytes(pid)]));
  // The stalled reader resumes: every large event must still arrive, in full.
  let resumedAll = true;
  if (stalled) {
    const done = new Promise((resolve) => {
      readLines(hol.res, () => {
        if (++holEvents >= bigCount) resolve();
      });
    });
    hol.res.resume();
    resumedAll = !(await Promise.race([done.then(() => false), sleep(30_000).then(() => true)]));
  }
  for (const s of streams) s.req.destroy();
  hol.req.destroy();
  agent.destroy();
  // Clean up, so later watches start empty.
  for (let e = 0; e < bigCount; e++) await request(control, controlAgent, `/api/v1/namespaces/${HOL_NS}/pods/hol-${tag}-${e}`, { method: 'DELETE' });
  for (let e = 0; e < bigCount; e++) await request(control, controlAgent, `/api/v1/namespaces/${WATCH_NS}/pods/s-${tag}-${e}`, { method: 'DELETE' });
  controlAgent.destroy();
  await sleep(500);
  return {
    stalled,
    readers: n,
    stalledBytesSent: bigCount * bigBytes,
    p50: median(lat),
    p99: quantile(lat, 0.99),
    max: max(lat),
    missed,
    stalledReaderGotAll: resumedAll && holEvents >= bigCount,
    rssGrowthMB: Object.fromEntries(Object.keys(pids).map((k) => [k, (rss1[k] - rss0[k]) / 1e6])),
  };
}
