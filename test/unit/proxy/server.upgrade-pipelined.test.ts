/**
 * Bytes a client sends right after an upgrade request, before the agent switched protocols,
 * must not reach the agent ahead of the 101: they could be a second request carrying the
 * client's own Authorization or Impersonate-* headers, which header rewriting never saw.
 */
import { createServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { PREFIX, netDialer, sharedPki, startProxy, rawTlsClient } from './helpers.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

/** A raw agent: records every byte and answers the first request head with `answer`. */
async function rawAgent(answer: string): Promise<{ port: number; received: () => string; beforeAnswer: () => string; gotHead: Promise<void> }> {
  let received = '';
  let beforeAnswer = '';
  let headSeen!: () => void;
  const gotHead = new Promise<void>((r) => (headSeen = r));
  const server = createServer((socket: Socket) => {
    socket.on('data', (d: Buffer) => {
      const before = received.includes('\r\n\r\n');
      received += d.toString('latin1');
      if (!before && received.includes('\r\n\r\n')) {
        beforeAnswer = received;
        headSeen();
        socket.write(answer);
      }
    });
    socket.on('error', () => undefined);
  });
  server.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  cleanups.push(() => new Promise((r) => server.close(r)));
  return { port: (server.address() as AddressInfo).port, received: () => received, beforeAnswer: () => beforeAnswer, gotHead };
}

const SMUGGLED = 'GET /api/v1/secrets HTTP/1.1\r\nHost: x\r\nImpersonate-User: system:admin\r\n\r\n';

async function sendPipelined(proxyPort: number): Promise<string> {
  const { socket, received } = await rawTlsClient(await sharedPki(), proxyPort);
  cleanups.push(() => socket.destroy());
  socket.write(`GET ${PREFIX}/api/v1/namespaces/d/pods/p/exec HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n${SMUGGLED}`);
  await new Promise<void>((resolve) => {
    const check = (): void => {
      if (received().includes('\r\n\r\n')) resolve();
    };
    socket.on('data', check);
  });
  return received();
}

describe('proxy server: bytes pipelined after an upgrade request', () => {
  it('never reach the agent when it refuses the upgrade', async () => {
    const agent = await rawAgent('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
    const proxy = await startProxy(await sharedPki(), netDialer(agent.port));
    cleanups.push(() => proxy.close(0));
    const answer = await sendPipelined(proxy.port);
    expect(answer.startsWith('HTTP/1.1 400')).toBe(true);
    await agent.gotHead;
    expect(agent.received()).not.toContain('Impersonate-User');
    expect(agent.received()).not.toContain('/api/v1/secrets');
  });

  it('reach it only after it switched protocols', async () => {
    const agent = await rawAgent('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n');
    const proxy = await startProxy(await sharedPki(), netDialer(agent.port));
    cleanups.push(() => proxy.close(0));
    const answer = await sendPipelined(proxy.port);
    expect(answer.startsWith('HTTP/1.1 101')).toBe(true);
    // After the 101 the connection is the protocol's: the client's bytes now go through as they are.
    await expect.poll(() => agent.received()).toContain('/api/v1/secrets');
    expect(agent.beforeAnswer()).not.toContain('/api/v1/secrets');
  });
});
