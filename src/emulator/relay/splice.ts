/**
 * Joins the sender's and the listener's WebSockets the way the relay does: message by message
 * (binary stays binary, text stays text), with backpressure (a side stops being read while the
 * other side's send buffer is above the mark) and close codes carried across.
 */
import WebSocket from 'ws';
import { closeReason } from './service-errors.js';
import type { DeliveryProbe } from './delivery-probe.js';

export interface SpliceOptions {
  /** Bytes buffered towards one side before the other side is paused. Default 1 MiB. */
  highWaterMark?: number;
  /** Times messages towards the sender for the benchmark (delivery-probe.ts). */
  probe?: DeliveryProbe;
}

const DEFAULT_HIGH_WATER_MARK = 1024 * 1024;

/** Codes a close frame may carry (1005, 1006 and 1015 are reserved for local use). */
function isSendableCode(code: number): boolean {
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999);
}

function forward(from: WebSocket, to: WebSocket, highWaterMark: number, probe?: DeliveryProbe): void {
  from.on('message', (data, isBinary) => {
    if (to.readyState !== WebSocket.OPEN) return;
    const timed = probe !== undefined && Buffer.isBuffer(data) && probe.wants(to, data) ? process.hrtime.bigint() : undefined;
    to.send(data, { binary: isBinary }, () => {
      if (from.isPaused && to.bufferedAmount < highWaterMark) from.resume();
    });
    // Written through to the socket by now (ws corks and uncorks the frame within send).
    if (timed !== undefined) probe?.note(timed, process.hrtime.bigint());
    if (to.bufferedAmount >= highWaterMark) from.pause();
  });
}

function propagateClose(to: WebSocket, code: number, reason: Buffer): void {
  if (to.readyState === WebSocket.CLOSED || to.readyState === WebSocket.CLOSING) return;
  if (code === 1006) {
    // The other side vanished without a close frame: tell this side something went wrong.
    to.close(1011, closeReason('The peer connection was lost.'));
  } else if (isSendableCode(code)) {
    to.close(code, reason);
  } else {
    to.close();
  }
}

/** `a` is the sender's side, `b` the listener's. */
export function splice(a: WebSocket, b: WebSocket, options: SpliceOptions = {}): void {
  const highWaterMark = options.highWaterMark ?? DEFAULT_HIGH_WATER_MARK;
  for (const ws of [a, b]) ws.on('error', () => undefined); // 'close' follows and is propagated
  forward(a, b, highWaterMark);
  forward(b, a, highWaterMark, options.probe);
  a.on('close', (code, reason) => propagateClose(b, code, reason));
  b.on('close', (code, reason) => propagateClose(a, code, reason));
}
