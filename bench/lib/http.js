// Clients for the three paths the benchmark compares, all on loopback:
//   direct   client --TLS--> emulator apiserver (service-account token)
//   relay    client --HTTP/1.1 on a relay stream (dist/relay/sender.js)--> relay --> agent --> apiserver
//   arcproxy client --TLS, session client cert--> arcproxy --> relay --> agent --> apiserver
import http from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';
import { connectToRelay } from '../../dist/relay/sender.js';

/** http.Agent whose connections are relay streams, like arcproxy's pool minus everything else. */
class RelayAgent extends http.Agent {
  #cred;
  #cloud;
  constructor(cred, cloud, opts) {
    super(opts);
    this.#cred = cred;
    this.#cloud = cloud;
  }
  /** @override */
  createConnection(_options, callback) {
    connectToRelay({
      relayHost: `${this.#cred.relay}.${this.#cloud.relaySuffix}`,
      hybridConnectionName: this.#cred.hybridConnectionName,
      token: this.#cred.token,
      cloud: this.#cloud,
    }).then(
      (c) => {
        const s = c.stream;
        for (const m of ['ref', 'unref', 'setKeepAlive', 'setNoDelay', 'setTimeout'])
          if (typeof s[m] !== 'function')
            s[m] = function () {
              return this;
            };
        callback(null, s);
      },
      (err) => callback(err),
    );
    return undefined;
  }
}

/**
 * A target: how to reach the apiserver along one path.
 * newAgent({ keepAlive, maxSockets }) gives a fresh connection pool for that path.
 */
export function directTarget({ url, ca, token }) {
  const u = new URL(url);
  return {
    name: 'direct',
    mod: https,
    host: u.hostname,
    port: Number(u.port),
    prefix: '',
    headers: { authorization: `Bearer ${token}` },
    newAgent: (o = {}) => new https.Agent({ keepAlive: true, maxSockets: Infinity, ca, ...o }),
  };
}

export function relayTarget({ cred, cloud, token }) {
  return {
    name: 'relay',
    mod: http,
    host: 'cluster-agent.bench.invalid',
    port: 80,
    prefix: '',
    headers: { authorization: `Bearer ${token}` },
    newAgent: (o = {}) => new RelayAgent(cred, cloud, { keepAlive: true, maxSockets: Infinity, ...o }),
  };
}

/**
 * arcproxy as an HTTP/2 client sees it — kubectl, helm and client-go controllers negotiate h2 and
 * carry all their requests and watches on one TLS connection. Only `openH2Session` is offered.
 */
export function arcproxyH2Target(proc) {
  const base = arcproxyTarget(proc);
  return {
    ...base,
    name: 'arcproxy-h2',
    openH2Session: () =>
      new Promise((resolve, reject) => {
        const session = http2.connect(proc.server, { ca: proc.ca, cert: proc.cert, key: proc.key });
        session.once('error', reject);
        session.once('remoteSettings', () => {
          session.off('error', reject);
          session.on('error', () => undefined);
          resolve(session);
        });
      }),
  };
}

export function arcproxyTarget({ server, ca, cert, key, token }) {
  const u = new URL(server);
  return {
    name: 'arcproxy',
    mod: https,
    host: u.hostname,
    port: Number(u.port),
    prefix: u.pathname.replace(/\/$/, ''),
    headers: token ? { authorization: `Bearer ${token}` } : {},
    newAgent: (o = {}) => new https.Agent({ keepAlive: true, maxSockets: Infinity, ca, cert, key, ...o }),
  };
}

/**
 * One request. Resolves { status, bytes, ms, headersMs } once the body has ended (or, with
 * `until(chunk, total)`, once it returns true; the request is then destroyed).
 */
export function request(target, agent, path, opts = {}) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const body = opts.body;
    const req = target.mod.request({
      agent,
      host: target.host,
      port: target.port,
      method: opts.method ?? 'GET',
      path: target.prefix + path,
      headers: {
        accept: 'application/json',
        ...target.headers,
        ...(body ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } : {}),
      },
    });
    const timer = opts.timeoutMs ? setTimeout(() => req.destroy(new Error(`timeout after ${opts.timeoutMs} ms: ${path}`)), opts.timeoutMs) : undefined;
    req.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    req.on('response', (res) => {
      const headersMs = Number(process.hrtime.bigint() - t0) / 1e6;
      let bytes = 0;
      let done = false;
      const finish = () => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        resolve({ status: res.statusCode, bytes, headersMs, ms: Number(process.hrtime.bigint() - t0) / 1e6, res });
      };
      res.on('data', (chunk) => {
        bytes += chunk.length;
        if (opts.onData) opts.onData(chunk);
        if (opts.until && opts.until(chunk, bytes)) {
          finish();
          req.destroy();
        }
      });
      res.on('end', finish);
      res.on('error', (err) => {
        if (!done) {
          clearTimeout(timer);
          reject(err);
        }
      });
    });
    req.end(body);
  });
}

/** Calls onLine(line, tNs) for each newline-terminated line the readable delivers. */
export function readLines(readable, onLine) {
  let rest = '';
  readable.setEncoding('utf8');
  readable.on('data', (s) => {
    const t = process.hrtime.bigint();
    rest += s;
    let i;
    while ((i = rest.indexOf('\n')) !== -1) {
      const line = rest.slice(0, i);
      rest = rest.slice(i + 1);
      if (line) onLine(line, t);
    }
  });
}

/**
 * A long-lived streaming GET (watch): calls onLine(line, tNs) for each newline-terminated line.
 * Resolves with { req, res } once the response headers have arrived.
 */
export function openStream(target, agent, path, onLine, { paused = false } = {}) {
  return new Promise((resolve, reject) => {
    const req = target.mod.request({
      agent,
      host: target.host,
      port: target.port,
      method: 'GET',
      path: target.prefix + path,
      headers: { accept: 'application/json', ...target.headers },
    });
    req.on('error', reject);
    req.on('response', (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        reject(new Error(`${target.name} ${path}: HTTP ${res.statusCode}`));
        return;
      }
      req.off('error', reject);
      req.on('error', () => undefined);
      res.on('error', () => undefined);
      if (paused) {
        // The reader stops reading: nothing is consumed, TCP backpressure does the rest.
        res.pause();
      } else {
        readLines(res, onLine);
      }
      resolve({ req, res });
    });
    req.end();
  });
}

/** Like openStream, as one stream of an HTTP/2 session; resolves with { req } once headers arrived. */
export function openH2Stream(session, target, path, onLine) {
  return new Promise((resolve, reject) => {
    const req = session.request({ ':method': 'GET', ':path': target.prefix + path, accept: 'application/json', ...target.headers });
    req.once('error', reject);
    req.once('response', (headers) => {
      if (headers[':status'] !== 200) {
        req.resume();
        reject(new Error(`${target.name} ${path}: HTTP ${headers[':status']}`));
        return;
      }
      req.off('error', reject);
      req.on('error', () => undefined);
      readLines(req, onLine);
      resolve({ req });
    });
    req.end();
  });
}
