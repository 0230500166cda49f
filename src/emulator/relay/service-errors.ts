/**
 * How the emulated relay says no: HTTP status lines on the upgrade request (the reason phrase is
 * the service's description, as Azure Relay sends it, with a tracking id) and close reasons on
 * established WebSockets (at most 123 bytes, per RFC 6455).
 */
import { randomUUID } from 'node:crypto';
import type { Duplex } from 'node:stream';

export interface ServiceFailure {
  status: number;
  description: string;
}

/** Adds the service's tracking suffix: "TrackingId:..., SystemTracker:sb://host/path, Timestamp:...". */
export function withTracking(text: string, host: string, path: string, nowMs: number): string {
  const stamp = new Date(nowMs).toISOString().slice(0, 19);
  return `${text} TrackingId:${randomUUID()}_G0, SystemTracker:sb://${host}/${path}, Timestamp:${stamp}`;
}

/** Reason phrases may not contain control characters; keep them one readable line. */
export function sanitizeReason(text: string, max = 512): string {
  return (
    text
      // eslint-disable-next-line no-control-regex -- control characters are what this removes
      .replace(/[\x00-\x1f\x7f]+/g, ' ')
      .slice(0, max)
      .trim() || 'Error'
  );
}

/** Answers an upgrade request with an HTTP error instead of 101 and closes the socket. */
export function refuseUpgrade(socket: Duplex, failure: ServiceFailure): void {
  if (socket.destroyed) return;
  const reason = sanitizeReason(failure.description);
  const body = `${reason}\n`;
  socket.once('finish', () => socket.destroy());
  socket.end(
    `HTTP/1.1 ${failure.status} ${reason}\r\n` +
      'Connection: close\r\n' +
      'Content-Type: text/plain; charset=utf-8\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      '\r\n' +
      body,
  );
}

/** WebSocket close reasons are limited to 123 bytes. */
export function closeReason(text: string): string {
  const buf = Buffer.from(sanitizeReason(text), 'utf8');
  return buf.length <= 123
    ? buf.toString('utf8')
    : buf
        .subarray(0, 120)
        .toString('utf8')
        .replace(/\uFFFD$/, '') + '...';
}
