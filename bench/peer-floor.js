#!/usr/bin/env node
// How low can a Node proxy's own warm p50 share go, against kubectl proxy's added p50, in one
// paired run? Beside direct, the relay chain, arcproxy and kubectl proxy (as bench/ab.js), the two
// floors of bench/lib/floors.js: a TLS byte pipe to a relay stream, and node:https with the least
// an HTTP proxy does. Each share is paired by round against the path it is measured over
// (arcproxy and the floors over the relay chain, kubectl proxy over direct), as in bench/ab.js.
//
//   node bench/peer-floor.js [--rounds 12] [--requests 300] [--jit-warm 3000]
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startEmulatorProcess, launchArcproxy } from './lib/processes.js';
import { arcproxyTarget, directTarget, relayTarget } from './lib/http.js';
import { relayCredential } from './lib/relay-credential.js';
import { startFloors } from './lib/floors.js';
import { sequentialGets } from './lib/workloads.js';
import { cpuSeconds } from './lib/proc.js';
import { median } from './lib/stats.js';
import { startKubectlProxy, kubectlProxyTarget, writeDirectKubeconfig } from './lib/wan.js';

await main();

async function main() {
  const { values } = parseArgs({
    options: { rounds: { type: 'string', default: '12' }, requests: { type: 'string', default: '300' }, 'jit-warm': { type: 'string', default: '3000' } },
  });
  const rounds = Number(values.rounds);
  const requests = Number(values.requests);
  const warmup = 20;
  const emulator = await startEmulatorProcess();
  const token = emulator.env.ARCPROXY_EMULATOR_SA_TOKEN;
  const dir = await mkdtemp(join(tmpdir(), 'arcproxy-peer-floor-'));
  const stops = [];
  try {
    const { cred, cloud } = await relayCredential(emulator);
    const direct = directTarget({ url: emulator.apiserverUrl, ca: emulator.ca, token });
    const floors = await startFloors({ cred, cloud, token, direct });
    stops.push(() => floors.stop());
    const arcproxy = await launchArcproxy({ emulatorEnv: emulator.env, token, dir });
    stops.push(() => arcproxy.stop());
    const kproxy = await startKubectlProxy(await writeDirectKubeconfig(join(dir, 'direct.yaml'), { url: emulator.apiserverUrl, ca: emulator.ca, token }));
    stops.push(() => kproxy.stop());
    const paths = [
      { label: 'direct', target: direct },
      { label: 'relay', target: relayTarget({ cred, cloud, token }) },
      { label: 'pipe floor', target: floors.pipe, pid: floors.pid, over: 'relay' },
      { label: 'https floor', target: floors.https, pid: floors.pid, over: 'relay' },
      { label: 'arcproxy', target: arcproxyTarget(arcproxy), pid: arcproxy.pid, over: 'relay' },
      { label: 'kubectl proxy', target: kubectlProxyTarget(kproxy.port), pid: kproxy.pid, over: 'direct' },
    ].map((p) => ({ ...p, p50: [], cpu: 0 }));
    // Warm every path first: a new process runs its first few thousand requests on colder code.
    for (const p of paths) await sequentialGets(p.target, Number(values['jit-warm']), 0);
    for (let r = 0; r < rounds; r++) {
      for (let k = 0; k < paths.length; k++) {
        const p = paths[(k + r) % paths.length];
        const cpu0 = p.pid ? cpuSeconds(p.pid) : 0;
        p.p50.push((await sequentialGets(p.target, requests, warmup)).p50);
        if (p.pid) p.cpu += cpuSeconds(p.pid) - cpu0;
      }
      console.error(`peer-floor: round ${r + 1}: ${paths.map((p) => `${p.label} ${p.p50.at(-1).toFixed(3)}`).join(', ')} ms`);
    }
    const byLabel = (label) => paths.find((p) => p.label === label);
    const share = (p) => median(p.p50.map((x, k) => x - byLabel(p.over).p50[k]));
    const peer = share(byLabel('kubectl proxy'));
    console.log(`${rounds} rounds of ${requests} sequential GETs (+${warmup} warm-up) per path`);
    for (const p of paths) {
      const cpu = p.pid ? `, CPU ${((p.cpu * 1e6) / (rounds * (requests + warmup))).toFixed(0)} µs per request` : '';
      const added = p.over ? `, adds ${share(p).toFixed(3)} ms over ${p.over} (${(share(p) / peer).toFixed(2)}x kubectl proxy's)` : '';
      console.log(`  ${p.label.padEnd(14)} p50 ${median(p.p50).toFixed(3)} ms${added}${cpu}`);
    }
  } finally {
    for (const stop of stops.reverse()) await Promise.resolve(stop()).catch(() => undefined);
    await emulator.close();
    await rm(dir, { recursive: true, force: true });
  }
}
