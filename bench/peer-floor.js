#!/usr/bin/env node
// How low can a Node proxy's own warm p50 share go, against kubectl proxy's added p50, in one
// paired run? Beside direct, the relay chain, arcproxy and kubectl proxy (as bench/ab.js), two
// floors run in a process of their own, on the same relay streams arcproxy uses
// (dist/relay/sender.js):
//   pipe   a TLS server that pipes each client connection's bytes to one relay stream and back:
//          no HTTP at all, only TLS and the WebSocket (what no proxy that reads requests can beat)
//   https  node:https and the least an HTTP proxy does: the client's request head sent on a
//          kept-alive relay stream, the answer's head parsed (Content-Length only) and written
//          back with writeHead() and end(); no header checks, no retries, no resume, no log
// Each share is paired by round against the path it is measured over (arcproxy and the floors
// over the relay chain, kubectl proxy over direct), as in bench/ab.js.
//
//   node bench/peer-floor.js [--rounds 12] [--requests 300] [--jit-warm 3000]
import { fork } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import https from 'node:https';
import tls from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { connectToRelay } from '../dist/relay/sender.js';
import { createCertificateAuthority, issueServerCertificate } from '../dist/pki/certs.js';
import { startEmulatorProcess, launchArcproxy } from './lib/processes.js';
import { arcproxyTarget, directTarget, relayTarget, request } from './lib/http.js';
import { relayCredential } from './lib/relay-credential.js';
import { SMALL_PATH, sequentialGets } from './lib/workloads.js';
import { cpuSeconds } from './lib/proc.js';
import { median } from './lib/stats.js';
import { startKubectlProxy, kubectlProxyTarget, writeDirectKubeconfig } from './lib/wan.js';

/** Headers the https floor does not pass on (hop-by-hop, and the host it replaces). */
const NOT_FORWARDED = /^(connection|keep-alive|host|transfer-encoding)$/i;

if (process.argv[2] === 'serve-floors') await serveFloors(JSON.parse(process.env.PEER_FLOOR_CONFIG ?? '{}'));
else await main();

/** The child: both floor servers; sends their ports to the parent, ends when the parent goes. */
async function serveFloors({ cred, cloud, key, cert }) {
  const dial = async () =>
    (await connectToRelay({ relayHost: `${cred.relay}.${cloud.relaySuffix}`, hybridConnectionName: cred.hybridConnectionName, token: cred.token, cloud }))
      .stream;

  const pipe = tls.createServer({ key, cert }, (socket) => {
    socket.setNoDelay(true);
    socket.pause();
    dial().then(
      (up) => {
        socket.pipe(up).pipe(socket);
        socket.resume();
      },
      () => socket.destroy(),
    );
  });

  const relayOf = new WeakMap();
  const minimal = https.createServer({ key, cert }, async (req, res) => {
    let up = relayOf.get(req.socket);
    if (!up) {
      up = await dial();
      relayOf.set(req.socket, up);
      req.socket.once('close', () => up.destroy());
    }
    let head = `${req.method} ${req.url} HTTP/1.1\r\nHost: cluster\r\n`;
    const raw = req.rawHeaders;
    for (let i = 0; i < raw.length; i += 2) if (!NOT_FORWARDED.test(raw[i])) head += `${raw[i]}: ${raw[i + 1]}\r\n`;
    up.write(`${head}Connection: keep-alive\r\n\r\n`, 'latin1');
    let got = Buffer.alloc(0);
    const onData = (chunk) => {
      got = got.length > 0 ? Buffer.concat([got, chunk]) : chunk;
      const end = got.indexOf('\r\n\r\n');
      if (end === -1) return;
      const lines = got.toString('latin1', 0, end).split('\r\n');
      const length = Number(/^content-length: *(\d+)$/im.exec(lines.join('\n'))?.[1] ?? 0);
      if (got.length < end + 4 + length) return;
      up.off('data', onData);
      const headers = [];
      for (const line of lines.slice(1)) {
        const colon = line.indexOf(':');
        const name = line.slice(0, colon);
        if (!NOT_FORWARDED.test(name)) headers.push(name, line.slice(colon + 1).trim());
      }
      res.writeHead(Number(lines[0].slice(9, 12)), headers);
      res.end(got.subarray(end + 4, end + 4 + length));
    };
    up.on('data', onData);
  });

  /** @param {import('node:net').Server} server */
  const listen = (server) =>
    new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(/** @type {import('node:net').AddressInfo} */ (server.address()).port)));
  process.send({ pipe: await listen(pipe), https: await listen(minimal) });
  process.once('disconnect', () => process.exit(0));
}

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
    const ca = await createCertificateAuthority('peer-floor');
    const { cert, key } = await issueServerCertificate(ca, { commonName: 'localhost', ipAddresses: ['127.0.0.1'] });
    const floors = fork(fileURLToPath(import.meta.url), ['serve-floors'], {
      env: { ...process.env, PEER_FLOOR_CONFIG: JSON.stringify({ cred, cloud, key, cert }) },
    });
    stops.push(async () => floors.connected && floors.disconnect());
    const ports = await new Promise((resolve, reject) => {
      floors.once('message', resolve);
      floors.once('exit', (code) => reject(new Error(`the floor servers exited (${code})`)));
    });
    const floorTarget = (name, port) => ({
      name,
      mod: https,
      host: '127.0.0.1',
      port,
      prefix: '',
      headers: { authorization: `Bearer ${token}` },
      newAgent: (o = {}) => new https.Agent({ keepAlive: true, maxSockets: Infinity, ca: ca.cert, ...o }),
    });
    const arcproxy = await launchArcproxy({ emulatorEnv: emulator.env, token, dir });
    stops.push(() => arcproxy.stop());
    const kproxy = await startKubectlProxy(await writeDirectKubeconfig(join(dir, 'direct.yaml'), { url: emulator.apiserverUrl, ca: emulator.ca, token }));
    stops.push(() => kproxy.stop());
    const paths = [
      { label: 'direct', target: directTarget({ url: emulator.apiserverUrl, ca: emulator.ca, token }) },
      { label: 'relay', target: relayTarget({ cred, cloud, token }) },
      { label: 'pipe floor', target: floorTarget('pipe', ports.pipe), pid: floors.pid, over: 'relay' },
      { label: 'https floor', target: floorTarget('https', ports.https), pid: floors.pid, over: 'relay' },
      { label: 'arcproxy', target: arcproxyTarget(arcproxy), pid: arcproxy.pid, over: 'relay' },
      { label: 'kubectl proxy', target: kubectlProxyTarget(kproxy.port), pid: kproxy.pid, over: 'direct' },
    ].map((p) => ({ ...p, p50: [], cpu: 0 }));
    // Every path must answer what direct answers: a floor that cut corners would measure nothing.
    const answers = [];
    for (const p of paths) {
      const agent = p.target.newAgent({ maxSockets: 1 });
      answers.push(await request(p.target, agent, SMALL_PATH));
      agent.destroy();
    }
    for (const [i, a] of answers.entries())
      if (a.status !== 200 || a.bytes !== answers[0].bytes)
        throw new Error(`${paths[i].label} answered ${a.status} with ${a.bytes} bytes; direct ${answers[0].bytes}`);
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
