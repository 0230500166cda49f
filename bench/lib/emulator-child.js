// Child process: the whole emulator (Entra, ARM, Relay, agent, apiserver) on loopback, with the
// built-in seed plus namespaces the benchmark fills and a pod with a 100 MiB generated log. It
// reports its addresses over IPC and exits when the parent says so, disconnects, or after a hard
// limit.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmulator } from '../../dist/emulator/index.js';
import { defaultSeed } from '../../dist/emulator/seed.js';
import { BULK_LOG } from './workloads.js';

export const BENCH_NAMESPACES = ['bench-bulk', 'bench-watch', 'bench-hol', BULK_LOG.namespace];

const HARD_LIMIT_MS = 15 * 60_000;

const seed = defaultSeed();
const demo = seed.resourceGroups.flatMap((rg) => rg.clusters).find((c) => c.name === 'demo');
demo.kubernetes.namespaces.push(...BENCH_NAMESPACES);
// Made as it is read: the emulator holds none of it.
demo.kubernetes.pods.push({ namespace: BULK_LOG.namespace, name: BULK_LOG.pod, logBytes: BULK_LOG.bytes, echoPorts: [], containers: ['log'] });

// The agent listens on each new hybrid connection at once: launch-to-ready measures arcproxy's own
// start-up, not Azure's Guest Notification delay (its length is not public; the e2e tests wait
// through one, and the emulator's default adds DEFAULT_RELAY_LISTENER_DELAY_MS to every start).
seed.relayListenerDelayMs = 0;
// The WAN section's emulator: every relay connection through the delay stage (bench/lib/wan.js).
if (process.env.ARCPROXY_BENCH_RELAY_LATENCY_MS !== undefined) seed.relayLatencyMs = Number(process.env.ARCPROXY_BENCH_RELAY_LATENCY_MS);

const stateDir = await mkdtemp(join(tmpdir(), 'arcproxy-bench-emu-'));
const emulator = await startEmulator({ seed, stateDir });
const cluster = emulator.clusters.find((c) => c.name === 'demo');

let closing = false;
const stop = async (code) => {
  if (closing) return;
  closing = true;
  const t = setTimeout(() => process.exit(code), 5000);
  t.unref();
  await emulator.close().catch(() => undefined);
  process.exit(code);
};
process.on('message', (/** @type {{ type?: string, id?: number, marker?: string } | undefined} */ m) => {
  if (m?.type === 'close') void stop(0);
  // The watch workloads: when the relay passed an event on to each sender (relay/delivery-probe.ts).
  if (m?.type === 'probe-arm') {
    emulator.relayDeliveryProbe.arm(m.marker);
    process.send({ type: 'probe', id: m.id });
  }
  if (m?.type === 'probe-collect') process.send({ type: 'probe', id: m.id, times: emulator.relayDeliveryProbe.collect() });
});
process.on('disconnect', () => void stop(0));
setTimeout(() => void stop(3), HARD_LIMIT_MS).unref();

process.send({
  type: 'ready',
  pid: process.pid,
  apiserverUrl: cluster.apiserver.url,
  ca: emulator.cloud.ca,
  cloud: emulator.cloud,
  cloudFile: emulator.cloudFile,
  env: emulator.env,
  stateDir,
});
