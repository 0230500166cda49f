/**
 * Port-forward over WebSocket channels, as kubelet serves it to clients that do not tunnel SPDY
 * (@kubernetes/client-node, the Python client): subprotocol "v4.channel.k8s.io" (binary frames,
 * first byte the channel), "v4.base64.channel.k8s.io" (text frames, channel as an ASCII digit,
 * base64 payload), or none offered (binary). Every requested port gets two channels, data (2i)
 * and error (2i+1); the server's first frame on each carries the port, 2 bytes little-endian.
 * One TCP connection per port; when all of them have ended, the WebSocket closes.
 */
import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';
import type { PodRuntime } from '../types.js';

/** What kubelet's wsstream offers for port-forward; "" is a client that named no subprotocol. */
export const PORT_FORWARD_CHANNEL_PROTOCOLS = ['', 'v4.channel.k8s.io', 'v4.base64.channel.k8s.io'] as const;

/** Stop reading the pod while this much is queued for the client. */
const HIGH_WATER = 1024 * 1024;

export function servePortForwardChannels(ws: WebSocket, protocol: string, pod: PodRuntime, ports: readonly number[]): void {
  const base64 = protocol === 'v4.base64.channel.k8s.io';
  const send = (channel: number, payload: Buffer, cb?: () => void): void => {
    if (ws.readyState !== ws.OPEN) return;
    if (base64) ws.send(String.fromCharCode(48 + channel) + payload.toString('base64'), cb);
    else ws.send(Buffer.concat([Buffer.of(channel), payload]), { binary: true }, cb);
  };

  const conns: (Duplex | undefined)[] = [];
  let open = ports.length;
  const ended = (): void => {
    if (--open === 0 && ws.readyState === ws.OPEN) ws.close(1000);
  };

  ports.forEach((port, i) => {
    const prefix = Buffer.alloc(2);
    prefix.writeUInt16LE(port);
    send(2 * i, prefix);
    send(2 * i + 1, prefix);
    const fail = (why: string): void => {
      send(2 * i + 1, Buffer.from(`error forwarding port ${port} to pod ${pod.namespace}/${pod.name}, uid : ${why}`));
    };
    const conn = pod.connect(port);
    if (!conn) {
      fail(
        `failed to connect to localhost:${port} inside namespace "${pod.namespace}/${pod.name}", ` +
          `IPv4: dial tcp4 127.0.0.1:${port}: connect: connection refused IPv6 dial tcp6 [::1]:${port}: connect: connection refused`,
      );
      ended();
      return;
    }
    conns[i] = conn;
    conn.on('data', (chunk: Buffer) => {
      send(2 * i, chunk, () => {
        if (conn.isPaused() && ws.bufferedAmount < HIGH_WATER) conn.resume();
      });
      if (ws.bufferedAmount >= HIGH_WATER) conn.pause();
    });
    conn.on('error', (err) => fail(err.message));
    conn.once('close', ended);
  });

  ws.on('message', (data: Buffer, isBinary: boolean) => {
    let channel: number;
    let payload: Buffer;
    if (base64) {
      if (isBinary || data.length === 0) return;
      channel = data[0]! - 48;
      payload = Buffer.from(data.subarray(1).toString('latin1'), 'base64');
    } else {
      if (!isBinary || data.length === 0) return;
      channel = data[0]!;
      payload = data.subarray(1);
    }
    // Only data channels carry bytes towards the pod; the error channels are the server's.
    const conn = channel % 2 === 0 ? conns[channel / 2] : undefined;
    if (!conn || conn.destroyed || payload.length === 0) return;
    if (!conn.write(payload)) {
      ws.pause();
      conn.once('drain', () => ws.resume());
    }
  });
  // The client closing the WebSocket ends every forwarded connection.
  ws.on('close', () => {
    for (const c of conns) c?.destroy();
  });
  ws.on('error', () => ws.terminate());
}
