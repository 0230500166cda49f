/**
 * Forwards an upgrade (exec, attach, port-forward: WebSocket or SPDY/3.1) on a fresh stream:
 * the rewritten request head goes first, then bytes are relayed both ways untouched. The proxy
 * never terminates WebSocket or SPDY; kubectl and the agent speak it end to end.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { performance } from 'node:perf_hooks';
import type { UpstreamAuth } from './auth.js';
import type { StreamDialer } from '../tunnel/dialer.js';
import { newRequestTrace, prepareUpstreamRequest, traceSuffix } from './request-head.js';
import type { RequestLogEntry } from './log.js';
import { tokenFailureMessage, writeRawStatus } from './status.js';
import { streamClosedEarly } from '../tunnel/errors.js';
import { tunnelFailureMessage } from '../tunnel/failure-message.js';

export interface ForwardUpgradeDeps {
  dialer: StreamDialer;
  auth: UpstreamAuth;
  /** Aborts the dial on shutdown. */
  signal: AbortSignal;
  onRequest?: ((e: RequestLogEntry) => void) | undefined;
  /** The session's x-ms-correlation-request-id; the upgrade then gets an x-ms-client-request-id. */
  correlationId?: string | undefined;
}

/** Bytes a client may send after its upgrade request before the agent answers; more is abuse. */
const MAX_EARLY_BYTES = 64 * 1024;

export function forwardUpgrade(req: IncomingMessage, client: Duplex, head: Buffer, path: string, logPath: string, deps: ForwardUpgradeDeps): void {
  const started = performance.now();
  const trace = newRequestTrace(deps.correlationId);
  let upstream: Duplex | undefined;
  let status = 0;
  let bytesIn = head.length;
  let bytesOut = 0;

  client.on('error', () => client.destroy());
  client.once('close', () => {
    upstream?.destroy();
    deps.onRequest?.({
      method: req.method ?? 'GET',
      path: logPath,
      status,
      durationMs: performance.now() - started,
      bytesIn,
      bytesOut,
      upgrade: true,
      ...(trace ? { requestId: trace.requestId } : {}),
    });
  });

  const fail = (message: string): void => {
    status = 503;
    writeRawStatus(client, 503, 'ServiceUnavailable', message);
  };

  const relay = (up: Duplex): void => {
    if (client.destroyed) {
      up.destroy();
      return;
    }
    upstream = up;
    let answered = false;
    let finished = false;
    const upstreamDone = (ended: boolean): void => {
      if (finished) return;
      finished = true;
      if (!answered) fail(tunnelFailureMessage(streamClosedEarly(false, 'it answered the upgrade request')) + traceSuffix(trace));
      else if (ended) client.end();
      else client.destroy();
    };
    up.on('error', () => up.destroy());
    // Until the agent has switched protocols, nothing from the client goes upstream: bytes sent
    // after the upgrade request could be a second request, which would reach the agent without
    // header rewriting (its own Authorization and Impersonate-* headers). They wait here.
    let early: Buffer[] = head.length > 0 ? [head] : [];
    let earlyBytes = head.length;
    const holdEarly = (chunk: Buffer): void => {
      earlyBytes += chunk.length;
      if (earlyBytes > MAX_EARLY_BYTES) client.destroy();
      else early.push(chunk);
    };
    client.on('data', holdEarly);
    up.on('data', (chunk: Buffer) => {
      bytesOut += chunk.length;
      if (answered) return;
      answered = true;
      status = Number.parseInt(chunk.toString('latin1', 9, 12), 10) || 0;
      client.off('data', holdEarly);
      if (status === 101) {
        if (early.length > 0) up.write(Buffer.concat(early));
        early = [];
        client.pipe(up);
      } else {
        // Refused (kubectl then retries with SPDY): relay the answer, but nothing more from the
        // client, whose next request on this connection would skip header rewriting.
        early = [];
        client.on('data', () => client.destroy());
      }
    });
    // Ends are handled here, not by pipe: a stream that ends before answering becomes a 503.
    up.pipe(client, { end: false });
    up.once('end', () => upstreamDone(true));
    up.once('close', () => upstreamDone(up.readableEnded));
    client.on('data', (chunk: Buffer) => (bytesIn += chunk.length));
  };

  const start = (token: string | undefined): void => {
    if (client.destroyed) return;
    const request = prepareUpstreamRequest(req.method ?? 'GET', path, req.rawHeaders, { bearerToken: token, upgrade: true, trace });
    if ('problem' in request) {
      status = 400;
      writeRawStatus(client, 400, 'BadRequest', `arcproxy: cannot forward this request: ${request.problem}`);
      return;
    }
    const bytes = Buffer.from(request.head(path, 'upgrade'), 'latin1');
    deps.dialer.dial(deps.signal).then(
      (up) => {
        up.write(bytes);
        relay(up);
      },
      (err: unknown) => {
        if (!client.destroyed) fail(tunnelFailureMessage(err) + traceSuffix(trace));
      },
    );
  };

  if (deps.auth.kind === 'entra') {
    deps.auth.getToken().then(start, (err: unknown) => {
      if (!client.destroyed) fail(tokenFailureMessage(err));
    });
  } else {
    start(undefined);
  }
}
