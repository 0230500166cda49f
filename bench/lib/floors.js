// Two floors under arcproxy's own warm share, in a process of their own, on the same relay streams
// arcproxy uses (dist/relay/sender.js):
//   pipe   a TLS server that pipes each client connection's bytes to one relay stream and back:
//          no HTTP at all, only TLS and the WebSocket (what no proxy that reads requests can beat)
//   https  node:https and the least an HTTP proxy does: the client's request head sent on a
//          kept-alive relay stream, the answer's head parsed (Content-Length only) and written
//          back with writeHead() and end(); no header checks, no retries, no resume, no log
// A floor that cut a corner would measure nothing: startFloors checks that both answer a small
// GET byte for byte as long as direct does.
import { fork } from 'node:child_process';
import https from 'node:https';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';
import { connectToRelay } from '../../dist/relay/sender.js';
import { createCertificateAuthority, issueServerCertificate } from '../../dist/pki/certs.js';
import { directTarget, request } from './http.js';
import { SMALL_PATH } from './workloads.js';

const SELF = fileURLToPath(import.meta.url);

/** Headers the https floor does not pass on (hop-by-hop, and the host it replaces). */
const NOT_FORWARDED = /^(connection|keep-alive|host|transfer-encoding)$/i;

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

/** Starts both floors in a child process; `direct` is the path their answers are checked against. */
export async function startFloors({ cred, cloud, token, direct }) {
  const ca = await createCertificateAuthority('arcproxy-bench-floors');
  const { cert, key } = await issueServerCertificate(ca, { commonName: 'localhost', ipAddresses: ['127.0.0.1'] });
  const child = fork(SELF, [], { env: { ...process.env, ARCPROXY_BENCH_FLOORS: JSON.stringify({ cred, cloud, key, cert }) } });
  const ports = await new Promise((resolve, reject) => {
    child.once('message', resolve);
    child.once('exit', (code) => reject(new Error(`the floor servers exited (${code})`)));
  });
  // Reached as direct is (a TLS server, the service-account token), under the floor's own CA.
  const target = (name, port) => ({ ...directTarget({ url: `https://127.0.0.1:${port}`, ca: ca.cert, token }), name });
  const floors = {
    pid: child.pid,
    pipe: target('pipe-floor', ports.pipe),
    https: target('https-floor', ports.https),
    stop: async () => child.connected && child.disconnect(),
  };
  const once = async (t) => {
    const agent = t.newAgent({ maxSockets: 1 });
    try {
      return await request(t, agent, SMALL_PATH);
    } finally {
      agent.destroy();
    }
  };
  const expected = await once(direct);
  for (const t of [floors.pipe, floors.https]) {
    const got = await once(t);
    if (got.status !== 200 || got.bytes !== expected.bytes) {
      await floors.stop();
      throw new Error(`the ${t.name} answered ${got.status} with ${got.bytes} bytes; direct ${expected.status} with ${expected.bytes}`);
    }
  }
  return floors;
}

if (process.env.ARCPROXY_BENCH_FLOORS && process.argv[1] === SELF) await serveFloors(JSON.parse(process.env.ARCPROXY_BENCH_FLOORS));
