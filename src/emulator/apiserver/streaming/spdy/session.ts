/**
 * The server side of a SPDY/3.1 session over any byte Duplex (a TCP/TLS socket after the HTTP
 * upgrade, or a WebSocket tunnel). Peers open streams; this side only replies, sends data and
 * resets. Kubernetes clients (Go's spdystream) ignore SPDY flow control, so send windows are
 * enforced only once the peer shows it uses them (a WINDOW_UPDATE or INITIAL_WINDOW_SIZE);
 * receive windows are credited back as data is consumed. Inbound backpressure pauses the
 * transport, outbound waits for the transport's 'drain'.
 */
import { Duplex } from 'node:stream';
import { encodeFrame, FrameParser, GoAwayStatus, RstStatus, Setting, SpdyProtocolError, type SpdyFrame } from './frames.js';
import { HeaderCompressor, HeaderDecompressor, type SpdyHeaders } from './headers.js';

const DEFAULT_WINDOW = 64 * 1024;
const MAX_DATA_CHUNK = 16 * 1024;
/** Credit received bytes back once this many are consumed (per stream and per session). */
const WINDOW_ACK_THRESHOLD = DEFAULT_WINDOW / 2;
/** After close(), how long the peer gets to hang up before the transport is destroyed. */
const CLOSE_GRACE_MS = 5_000;

export interface SpdySessionOptions {
  /** Every stream the peer opens, once its headers are known. Call reply() (or destroy it). */
  onStream(stream: SpdyStream): void;
  /** The transport is gone; all streams have been destroyed. */
  onClose?(): void;
}

export class SpdyStream extends Duplex {
  replied = false;
  /** Set when the peer reset the stream (no RST goes back then). */
  resetByPeer = false;
  sendWindow: number;
  #localFin = false;
  #remoteFin: boolean;
  #unacked = 0;
  #blocked = false;
  #windowWaiter: (() => void) | undefined;
  readonly #session: SpdySession;

  constructor(
    session: SpdySession,
    readonly id: number,
    readonly headers: SpdyHeaders,
    remoteFin: boolean,
    sendWindow: number,
  ) {
    super({ allowHalfOpen: true });
    this.#session = session;
    this.#remoteFin = remoteFin;
    this.sendWindow = sendWindow;
    if (remoteFin) this.push(null);
  }

  /** Accepts the stream (SYN_REPLY with no headers, as kubelet sends). */
  reply(): void {
    if (this.replied || this.destroyed) return;
    this.replied = true;
    this.#session.sendReply(this.id);
  }

  /** Header value by lower-case name. */
  header(name: string): string | undefined {
    return this.headers[name.toLowerCase()];
  }

  /** @internal DATA from the peer. */
  receive(data: Buffer, fin: boolean): void {
    if (this.#remoteFin) {
      this.#session.reset(this.id, RstStatus.STREAM_ALREADY_CLOSED);
      return;
    }
    if (data.length > 0) {
      if (this.push(data)) this.#credit(data.length);
      else {
        this.#unacked += data.length;
        this.#blocked = true;
        this.#session.blockTransport(this);
      }
    }
    if (fin) {
      this.#remoteFin = true;
      this.push(null);
      this.#maybeDone();
    }
  }

  /** @internal RST_STREAM from the peer. */
  peerReset(): void {
    this.resetByPeer = true;
    this.destroy();
  }

  /** @internal the send window grew. */
  wake(): void {
    const w = this.#windowWaiter;
    this.#windowWaiter = undefined;
    w?.();
  }

  /** @internal parks a write until the window opens. */
  waitForWindow(fn: () => void): void {
    this.#windowWaiter = fn;
  }

  override _read(): void {
    if (this.#blocked) {
      this.#blocked = false;
      this.#credit(this.#unacked);
      this.#unacked = 0;
      this.#session.unblockTransport(this);
    }
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.#session.sendData(this, chunk, false, cb);
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.#localFin = true;
    this.#session.sendData(this, Buffer.alloc(0), true, (err) => {
      cb(err);
      this.#maybeDone();
    });
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    if (!this.resetByPeer && !(this.#localFin && this.#remoteFin)) this.#session.reset(this.id, RstStatus.CANCEL);
    this.#windowWaiter = undefined;
    this.#session.forget(this);
    cb(err);
  }

  #credit(n: number): void {
    this.#session.consumed(this.id, n);
  }

  #maybeDone(): void {
    if (this.#localFin && this.#remoteFin) this.#session.forget(this);
  }
}

export class SpdySession {
  readonly #parser = new FrameParser();
  readonly #compressor = new HeaderCompressor();
  readonly #decompressor = new HeaderDecompressor();
  readonly #streams = new Map<number, SpdyStream>();
  readonly #blockedStreams = new Set<SpdyStream>();
  #drainWaiters: (() => void)[] = [];
  #chain: Promise<void> = Promise.resolve();
  #inFlight = 0;
  #lastPeerStreamId = 0;
  #initialSendWindow = DEFAULT_WINDOW;
  #sessionSendWindow = DEFAULT_WINDOW;
  #sessionUnacked = 0;
  #streamUnacked = new Map<number, number>();
  /** Whether the peer speaks SPDY/3.1 flow control (Go's spdystream does not). */
  #peerFlowControl = false;
  #closing = false;
  #closed = false;
  #closeTimer: NodeJS.Timeout | undefined;
  readonly #transport: Duplex;
  readonly #options: SpdySessionOptions;

  constructor(transport: Duplex, options: SpdySessionOptions, head?: Buffer) {
    this.#transport = transport;
    this.#options = options;
    transport.on('data', (chunk: Buffer) => this.#onBytes(chunk));
    transport.on('drain', () => {
      for (const w of this.#drainWaiters.splice(0)) w();
    });
    // The peer hung up its side: finish ours (pending writes still flush), then 'close' cleans up.
    transport.on('end', () => this.close());
    transport.on('close', () => this.destroy());
    transport.on('error', () => this.destroy());
    if (head && head.length > 0) this.#onBytes(head);
  }

  get isClosed(): boolean {
    return this.#closed;
  }

  /** Ends the session politely: GOAWAY, then half-close; the peer hangs up (or we do after a grace period). */
  close(): void {
    if (this.#closing || this.#closed) return;
    this.#closing = true;
    this.#write({ type: 'goaway', lastGoodStreamId: this.#lastPeerStreamId, status: GoAwayStatus.OK });
    this.#transport.end();
    this.#closeTimer = setTimeout(() => this.destroy(), CLOSE_GRACE_MS);
  }

  destroy(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#closeTimer) clearTimeout(this.#closeTimer);
    this.#decompressor.close();
    for (const s of [...this.#streams.values()]) {
      s.resetByPeer = true; // nothing can be sent any more
      s.destroy();
    }
    this.#streams.clear();
    for (const w of this.#drainWaiters.splice(0)) w();
    this.#transport.destroy();
    this.#options.onClose?.();
  }

  /** @internal */
  sendReply(id: number): void {
    this.#write({ type: 'syn_reply', streamId: id, fin: false, headerBlock: this.#compressor.compress({}) });
  }

  /** @internal */
  reset(id: number, status: number): void {
    this.#write({ type: 'rst_stream', streamId: id, status });
  }

  /** @internal */
  forget(stream: SpdyStream): void {
    if (this.#streams.get(stream.id) === stream) this.#streams.delete(stream.id);
    this.#streamUnacked.delete(stream.id);
    this.unblockTransport(stream);
  }

  /** @internal sends DATA frames for one write, honouring windows and transport backpressure. */
  sendData(stream: SpdyStream, data: Buffer, fin: boolean, cb: (err?: Error | null) => void): void {
    let off = 0;
    const step = (): void => {
      if (this.#closed) return cb(new Error('SPDY session closed'));
      let writable = true;
      while (off < data.length) {
        let n = Math.min(data.length - off, MAX_DATA_CHUNK);
        if (this.#peerFlowControl) {
          n = Math.min(n, stream.sendWindow, this.#sessionSendWindow);
          if (n <= 0) return stream.waitForWindow(step);
          stream.sendWindow -= n;
          this.#sessionSendWindow -= n;
        }
        const last = off + n >= data.length;
        writable = this.#write({ type: 'data', streamId: stream.id, fin: fin && last, data: data.subarray(off, off + n) });
        off += n;
      }
      if (data.length === 0 && fin) writable = this.#write({ type: 'data', streamId: stream.id, fin: true, data });
      if (writable) cb();
      else this.#drainWaiters.push(() => cb(this.#closed ? new Error('SPDY session closed') : null));
    };
    step();
  }

  /** @internal credits consumed bytes back to the peer. */
  consumed(id: number, n: number): void {
    if (n <= 0) return;
    this.#sessionUnacked += n;
    if (this.#sessionUnacked >= WINDOW_ACK_THRESHOLD) {
      this.#write({ type: 'window_update', streamId: 0, delta: this.#sessionUnacked });
      this.#sessionUnacked = 0;
    }
    if (!this.#streams.has(id)) return;
    const s = (this.#streamUnacked.get(id) ?? 0) + n;
    if (s >= WINDOW_ACK_THRESHOLD) {
      this.#write({ type: 'window_update', streamId: id, delta: s });
      this.#streamUnacked.set(id, 0);
    } else this.#streamUnacked.set(id, s);
  }

  /** @internal a stream's reader is full: stop reading the transport until it drains. */
  blockTransport(stream: SpdyStream): void {
    this.#blockedStreams.add(stream);
    this.#transport.pause();
  }

  /** @internal */
  unblockTransport(stream: SpdyStream): void {
    if (this.#blockedStreams.delete(stream) && this.#blockedStreams.size === 0 && !this.#closed) this.#transport.resume();
  }

  #write(frame: SpdyFrame): boolean {
    if (this.#closed || this.#transport.writableEnded) return false;
    return this.#transport.write(encodeFrame(frame));
  }

  #onBytes(chunk: Buffer): void {
    if (this.#closed) return;
    let frames: SpdyFrame[];
    try {
      frames = this.#parser.push(chunk);
    } catch (err) {
      this.#fail(err as Error);
      return;
    }
    for (const f of frames) this.#dispatch(f);
  }

  /** Header blocks inflate asynchronously; frames behind one wait so order is kept. */
  #dispatch(frame: SpdyFrame): void {
    if (frame.type === 'syn_stream' || frame.type === 'syn_reply' || frame.type === 'headers') {
      const headers = this.#decompressor.decompress(frame.headerBlock);
      headers.catch(() => undefined); // failures surface through the chain below
      this.#enqueue(async () => {
        const h = await headers;
        if (frame.type === 'syn_stream') this.#onSynStream(frame, h);
        // SYN_REPLY/HEADERS from a client carry nothing this server needs; inflating them keeps
        // the zlib stream in step.
      });
    } else if (this.#inFlight > 0) this.#enqueue(async () => this.#onFrame(frame));
    else this.#onFrame(frame);
  }

  #enqueue(task: () => Promise<void>): void {
    this.#inFlight++;
    this.#chain = this.#chain
      .then(task)
      .catch((err: Error) => this.#fail(err))
      .finally(() => {
        this.#inFlight--;
      });
  }

  #onSynStream(frame: Extract<SpdyFrame, { type: 'syn_stream' }>, headers: SpdyHeaders): void {
    if (this.#closed) return;
    if (frame.streamId % 2 === 0 || frame.streamId <= this.#lastPeerStreamId) {
      this.reset(frame.streamId, RstStatus.PROTOCOL_ERROR);
      return;
    }
    this.#lastPeerStreamId = frame.streamId;
    if (this.#closing) {
      this.reset(frame.streamId, RstStatus.REFUSED_STREAM);
      return;
    }
    const stream = new SpdyStream(this, frame.streamId, headers, frame.fin, this.#initialSendWindow);
    this.#streams.set(frame.streamId, stream);
    this.#options.onStream(stream);
  }

  #onFrame(frame: SpdyFrame): void {
    if (this.#closed) return;
    switch (frame.type) {
      case 'data': {
        const stream = this.#streams.get(frame.streamId);
        if (!stream) {
          // Late data for a stream we already finished: still credit the session window.
          this.consumed(frame.streamId, frame.data.length);
          if (frame.streamId > this.#lastPeerStreamId) this.reset(frame.streamId, RstStatus.INVALID_STREAM);
          return;
        }
        stream.receive(frame.data, frame.fin);
        return;
      }
      case 'rst_stream':
        this.#streams.get(frame.streamId)?.peerReset();
        return;
      case 'settings':
        for (const e of frame.entries) {
          if (e.id !== Setting.INITIAL_WINDOW_SIZE) continue;
          const delta = e.value - this.#initialSendWindow;
          this.#initialSendWindow = e.value;
          this.#peerFlowControl = true;
          for (const s of this.#streams.values()) {
            s.sendWindow += delta;
            s.wake();
          }
        }
        return;
      case 'ping':
        // Odd ids are the client's: echo them. Even ids would answer our own pings (we send none).
        if (frame.id % 2 === 1) this.#write(frame);
        return;
      case 'goaway':
        // The peer opens no more streams; existing ones finish normally.
        return;
      case 'window_update':
        this.#peerFlowControl = true;
        if (frame.streamId === 0) {
          this.#sessionSendWindow += frame.delta;
          for (const s of this.#streams.values()) s.wake();
        } else {
          const s = this.#streams.get(frame.streamId);
          if (s) {
            s.sendWindow += frame.delta;
            s.wake();
          }
        }
        return;
      default:
        return; // unknown control frames are ignored, as the spec asks
    }
  }

  #fail(err: Error): void {
    if (this.#closed) return;
    if (err instanceof SpdyProtocolError) {
      this.#write({ type: 'goaway', lastGoodStreamId: this.#lastPeerStreamId, status: GoAwayStatus.PROTOCOL_ERROR });
    }
    this.destroy();
  }
}
