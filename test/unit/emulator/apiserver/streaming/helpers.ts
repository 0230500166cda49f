/**
 * Test plumbing for the streaming handlers: an HTTPS server whose 'upgrade' event calls them, a
 * fake pod, and a small SPDY/3.1 client built on the framer (the client side kubectl would be).
 */
import { once } from 'node:events';
import { createServer, type Server } from 'node:https';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { Duplex, PassThrough } from 'node:stream';
import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createCertificateAuthority, issueServerCertificate } from '../../../../../src/pki/certs.js';
import type { PodRuntime } from '../../../../../src/emulator/apiserver/types.js';
import { encodeFrame, FrameParser, type SpdyFrame } from '../../../../../src/emulator/apiserver/streaming/spdy/frames.js';
import { HeaderCompressor, HeaderDecompressor, type SpdyHeaders } from '../../../../../src/emulator/apiserver/streaming/spdy/headers.js';

export interface TestServer {
  port: number;
  ca: string;
  server: Server;
  close(): Promise<void>;
}

export async function startUpgradeServer(onUpgrade: (req: IncomingMessage, socket: Duplex, head: Buffer) => void): Promise<TestServer> {
  const ca = await createCertificateAuthority('streaming-test-ca');
  const leaf = await issueServerCertificate(ca, { commonName: 'localhost', ipAddresses: ['127.0.0.1'] });
  const server = createServer({ cert: leaf.cert, key: leaf.key });
  const sockets = new Set<Duplex>();
  server.on('upgrade', (req, socket, head) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    onUpgrade(req, socket, head);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as AddressInfo).port,
    ca: ca.cert,
    server,
    close: async () => {
      for (const s of sockets) s.destroy();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** A pod whose listed ports echo back what they receive; `opened` counts connections. */
export function fakePod(echoPorts: number[] = [8080]): PodRuntime & { opened: number } {
  const pod = {
    namespace: 'default',
    name: 'hello-0',
    containers: ['hello'],
    env: { GREETING: 'hi there', HOME: '/root' },
    opened: 0,
    connect(port: number): Duplex | undefined {
      if (!echoPorts.includes(port)) return undefined;
      pod.opened += 1;
      return new PassThrough();
    },
  };
  return pod;
}

/** Sends a raw HTTP upgrade over TLS and resolves with the response head and the socket. */
export async function rawUpgrade(
  port: number,
  ca: string,
  lines: string[],
): Promise<{ status: number; headers: Record<string, string>; socket: TLSSocket; rest: Buffer }> {
  const socket = tlsConnect({ host: '127.0.0.1', port, ca, servername: 'localhost' });
  await once(socket, 'secureConnect');
  socket.write(lines.join('\r\n') + '\r\n\r\n');
  let buf = Buffer.alloc(0);
  for (;;) {
    const [chunk] = (await once(socket, 'data')) as [Buffer];
    buf = Buffer.concat([buf, chunk]);
    const end = buf.indexOf('\r\n\r\n');
    if (end < 0) continue;
    socket.pause();
    const [statusLine, ...headerLines] = buf.subarray(0, end).toString().split('\r\n');
    const headers: Record<string, string> = {};
    for (const h of headerLines) {
      const i = h.indexOf(':');
      headers[h.slice(0, i).trim().toLowerCase()] = h.slice(i + 1).trim();
    }
    return { status: Number(statusLine!.split(' ')[1]), headers, socket, rest: buf.subarray(end + 4) };
  }
}

export interface ClientStream {
  id: number;
  data: Buffer[];
  fin: boolean;
  replied: boolean;
  reset: number | undefined;
}

/** The client half of a SPDY session, enough to play kubectl in tests. */
export class SpdyTestClient {
  readonly frames: SpdyFrame[] = [];
  readonly streams = new Map<number, ClientStream>();
  #nextId = 1;
  readonly #parser = new FrameParser();
  readonly #compressor = new HeaderCompressor();
  readonly #decompressor = new HeaderDecompressor();
  #waiters: (() => void)[] = [];
  closed = false;
  readonly #socket: Duplex;

  constructor(socket: Duplex, rest: Buffer = Buffer.alloc(0)) {
    this.#socket = socket;
    socket.on('data', (c: Buffer) => this.#onBytes(c));
    socket.on('close', () => {
      this.closed = true;
      this.#notify();
    });
    socket.on('error', () => undefined);
    if (rest.length) this.#onBytes(rest);
    socket.resume();
  }

  open(headers: SpdyHeaders, fin = false): ClientStream {
    const id = this.#nextId;
    this.#nextId += 2;
    const s: ClientStream = { id, data: [], fin: false, replied: false, reset: undefined };
    this.streams.set(id, s);
    this.send({ type: 'syn_stream', streamId: id, associatedId: 0, priority: 0, fin, unidirectional: false, headerBlock: this.#compressor.compress(headers) });
    return s;
  }

  write(s: ClientStream, data: Buffer | string, fin = false): void {
    this.send({ type: 'data', streamId: s.id, fin, data: Buffer.from(data) });
  }

  send(frame: SpdyFrame): void {
    this.#socket.write(encodeFrame(frame));
  }

  text(s: ClientStream): string {
    return Buffer.concat(s.data).toString();
  }

  /** Resolves when cond() holds, re-checking on every frame; rejects after timeoutMs. */
  async until(cond: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!cond()) {
      if (this.closed && !cond()) throw new Error(`connection closed while waiting for ${what}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  destroy(): void {
    this.#socket.destroy();
    this.#decompressor.close();
  }

  #notify(): void {
    for (const w of this.#waiters.splice(0)) w();
  }

  #onBytes(chunk: Buffer): void {
    for (const f of this.#parser.push(chunk)) {
      if (f.type === 'syn_reply' || f.type === 'headers' || f.type === 'syn_stream') {
        // Keep the inflater in step; the test checks the frame only.
        void this.#decompressor.decompress(f.headerBlock).catch(() => undefined);
      }
      this.frames.push(f);
      const s = 'streamId' in f ? this.streams.get(f.streamId) : undefined;
      if (s && f.type === 'syn_reply') s.replied = true;
      if (s && f.type === 'data') {
        if (f.data.length) s.data.push(Buffer.from(f.data));
        if (f.fin) s.fin = true;
      }
      if (s && f.type === 'rst_stream') s.reset = f.status;
    }
    this.#notify();
  }
}

/** Minimal RFC 6455 client framing for subprotocols the ws client refuses to request. */
export function maskedBinaryFrame(payload: Buffer): Buffer {
  const mask = Buffer.from([0x11, 0x22, 0x33, 0x44]);
  const len = payload.length;
  const head = len < 126 ? Buffer.from([0x82, 0x80 | len]) : len < 65536 ? Buffer.from([0x82, 0x80 | 126, len >> 8, len & 0xff]) : undefined;
  if (!head) throw new Error('test frames stay under 64 KiB');
  const body = Buffer.from(payload);
  for (let i = 0; i < body.length; i++) body[i]! ^= mask[i % 4]!;
  return Buffer.concat([head, mask, body]);
}

/** Unwraps the server's (unmasked) binary frames into a Duplex; writes become masked binary frames. */
export function webSocketTunnel(socket: Duplex, rest: Buffer): Duplex {
  let buf = rest;
  const duplex = new Duplex({
    read() {},
    write(chunk: Buffer, _enc, cb) {
      socket.write(maskedBinaryFrame(chunk), cb);
    },
    destroy(err, cb) {
      socket.destroy();
      cb(err);
    },
  });
  const parse = () => {
    for (;;) {
      if (buf.length < 2) return;
      const opcode = buf[0]! & 0x0f;
      let len = buf[1]! & 0x7f;
      let off = 2;
      if (len === 126) {
        if (buf.length < 4) return;
        len = buf.readUInt16BE(2);
        off = 4;
      } else if (len === 127) {
        if (buf.length < 10) return;
        len = Number(buf.readBigUInt64BE(2));
        off = 10;
      }
      if (buf.length < off + len) return;
      const payload = buf.subarray(off, off + len);
      buf = buf.subarray(off + len);
      if (opcode === 2) duplex.push(Buffer.from(payload));
      if (opcode === 8) duplex.push(null);
    }
  };
  socket.on('data', (c: Buffer) => {
    buf = Buffer.concat([buf, c]);
    parse();
  });
  socket.on('close', () => duplex.destroy());
  parse();
  socket.resume();
  return duplex;
}
