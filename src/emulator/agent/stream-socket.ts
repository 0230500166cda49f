/**
 * node:http's server was written for net.Socket. A relay stream is a plain Duplex, so it gets
 * the few socket members http touches (timeouts, Nagle, keep-alive probes, addresses) as
 * harmless stand-ins. Real sockets (tests use loopback TCP) keep their own.
 */
import type { Duplex } from 'node:stream';

type SocketLike = Duplex & {
  setTimeout?: (ms: number, cb?: () => void) => unknown;
  setNoDelay?: (noDelay?: boolean) => unknown;
  setKeepAlive?: (enable?: boolean, delay?: number) => unknown;
  remoteAddress?: string;
  remotePort?: number;
};

export interface StreamPeer {
  address?: string;
  port?: number;
}

export function asHttpSocket(stream: Duplex, peer: StreamPeer = {}): Duplex {
  const s = stream as SocketLike;
  // The relay owns idle handling; the stream has no socket timer to arm.
  if (typeof s.setTimeout !== 'function') s.setTimeout = () => s;
  if (typeof s.setNoDelay !== 'function') s.setNoDelay = () => s;
  if (typeof s.setKeepAlive !== 'function') s.setKeepAlive = () => s;
  if (!('remoteAddress' in s)) s.remoteAddress = peer.address ?? '127.0.0.1';
  if (!('remotePort' in s)) s.remotePort = peer.port ?? 0;
  return s;
}
