/**
 * Sends kubectl's request body to the agent after the request head. Node's server hands it over
 * decoded (chunked framing removed), so it is framed again the way the head announces it: the
 * bytes as they are under Content-Length, or re-chunked under Transfer-Encoding: chunked.
 * Backpressure holds both ways: the request pauses while the stream's buffer is full.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';

export type BodyFraming = { chunked: true } | { chunked: false; contentLength: number };

const CRLF = Buffer.from('\r\n', 'latin1');
const LAST_CHUNK = Buffer.from('0\r\n\r\n', 'latin1');

/**
 * Pipes `req`'s body onto `stream`. `done(true)` once the whole body has been written; `done(false)`
 * when it cannot be (kubectl went away mid-body, or a length that does not add up): the stream
 * then carries half a request and must not be reused.
 */
export function sendRequestBody(
  req: IncomingMessage,
  stream: Duplex,
  framing: BodyFraming,
  onBytes: ((n: number) => void) | undefined,
  done: (sent: boolean) => void,
): void {
  let sent = 0;
  let settled = false;
  const settle = (ok: boolean): void => {
    if (settled) return;
    settled = true;
    req.off('data', onData);
    req.off('end', onEnd);
    req.off('close', onClose);
    done(ok);
  };
  const resumeReq = (): void => {
    stream.off('drain', resumeReq);
    stream.off('close', resumeReq);
    // Once the stream is gone the rest of the body is read and dropped, so the kubectl
    // connection does not stall on it.
    req.resume();
  };
  const onData = (chunk: Buffer): void => {
    onBytes?.(chunk.length);
    if (stream.destroyed) return;
    let ok: boolean;
    if (framing.chunked) {
      // An empty chunk would say "end of body".
      if (chunk.length === 0) return;
      stream.cork();
      stream.write(`${chunk.length.toString(16)}\r\n`, 'latin1');
      stream.write(chunk);
      ok = stream.write(CRLF);
      stream.uncork();
    } else {
      sent += chunk.length;
      ok = stream.write(chunk);
    }
    if (!ok) {
      req.pause();
      stream.once('drain', resumeReq);
      stream.once('close', resumeReq);
    }
  };
  const onEnd = (): void => {
    if (stream.destroyed) return settle(false);
    if (framing.chunked) {
      stream.write(LAST_CHUNK);
      settle(true);
    } else {
      settle(sent === framing.contentLength);
    }
  };
  const onClose = (): void => {
    if (!req.complete) settle(false);
  };
  req.on('data', onData);
  req.on('end', onEnd);
  req.on('close', onClose);
}
