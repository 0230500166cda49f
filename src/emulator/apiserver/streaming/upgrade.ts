/**
 * The HTTP side of the two upgrade styles kubectl uses: WebSocket (RFC 6455, answered here rather
 * than by ws's WebSocketServer, which rejects "SPDY/3.1+portforward.k8s.io" because "/" is not a
 * token character) and SPDY/3.1 with X-Stream-Protocol-Version negotiation.
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket } from 'ws';

const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
/** Bounds one client message (stdin chunk or tunnelled SPDY bytes). */
const WS_MAX_PAYLOAD = 16 * 1024 * 1024;

function headerValues(req: IncomingMessage, name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    if (req.rawHeaders[i]!.toLowerCase() === name) {
      for (const v of req.rawHeaders[i + 1]!.split(',')) if (v.trim()) out.push(v.trim());
    }
  }
  return out;
}

function upgradeTokens(req: IncomingMessage): string[] {
  return headerValues(req, 'upgrade').map((v) => v.toLowerCase());
}

export function isWebSocketUpgrade(req: IncomingMessage): boolean {
  return upgradeTokens(req).includes('websocket');
}

export function isSpdyUpgrade(req: IncomingMessage): boolean {
  return upgradeTokens(req).includes('spdy/3.1');
}

/** The first of `supported` (server preference) that the client offers; undefined if none. */
function pick(offered: string[], supported: readonly string[]): string | undefined {
  return supported.find((p) => offered.includes(p));
}

export function offeredWebSocketProtocols(req: IncomingMessage): string[] {
  return headerValues(req, 'sec-websocket-protocol');
}

export function offeredStreamProtocols(req: IncomingMessage): string[] {
  return headerValues(req, 'x-stream-protocol-version');
}

export function negotiateWebSocketProtocol(req: IncomingMessage, supported: readonly string[]): string | undefined {
  return pick(offeredWebSocketProtocols(req), supported);
}

export function negotiateStreamProtocol(req: IncomingMessage, supported: readonly string[]): string | undefined {
  return pick(offeredStreamProtocols(req), supported);
}

/** Answers the upgrade with a plain HTTP error and closes the socket. */
export function rejectUpgrade(socket: Duplex, status: number, reason: string, message: string): void {
  const body = `${message}\n`;
  if (socket.writable) {
    socket.end(
      `HTTP/1.1 ${status} ${reason}\r\nContent-Type: text/plain; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  // end() flushes; destroy only if the peer never reads it.
  socket.once('finish', () => socket.destroy());
}

interface ServerSideWebSocket {
  setSocket(socket: Duplex, head: Buffer, options: { allowSynchronousEvents: boolean; maxPayload: number; skipUTF8Validation: boolean }): void;
}

/**
 * Completes a WebSocket handshake with the given subprotocol ("" names none) and returns the open socket, or
 * rejects the upgrade (400) and returns undefined when the request is not a valid handshake.
 */
export function acceptWebSocket(req: IncomingMessage, socket: Duplex, head: Buffer, protocol: string): WebSocket | undefined {
  const key = req.headers['sec-websocket-key'];
  const version = req.headers['sec-websocket-version'];
  if (typeof key !== 'string' || Buffer.from(key, 'base64').length !== 16 || version !== '13') {
    rejectUpgrade(socket, 400, 'Bad Request', 'invalid WebSocket handshake');
    return undefined;
  }
  const accept = createHash('sha1')
    .update(key + WS_GUID)
    .digest('base64');
  socket.write(
    'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
      `Sec-WebSocket-Accept: ${accept}\r\n${protocol ? `Sec-WebSocket-Protocol: ${protocol}\r\n` : ''}\r\n`,
  );
  // ws builds a server-side socket from `new WebSocket(null)` + setSocket(): the same path its own
  // WebSocketServer takes once it has written the 101.
  const ws = new (WebSocket as unknown as new (a: null, p: undefined, o: { autoPong: boolean }) => WebSocket)(null, undefined, { autoPong: true });
  (ws as unknown as ServerSideWebSocket).setSocket(socket, head, { allowSynchronousEvents: true, maxPayload: WS_MAX_PAYLOAD, skipUTF8Validation: false });
  return ws;
}

/** Completes a SPDY/3.1 upgrade announcing the negotiated stream protocol. */
export function acceptSpdy(socket: Duplex, protocol: string): void {
  socket.write('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n' + `X-Stream-Protocol-Version: ${protocol}\r\n\r\n`);
}
