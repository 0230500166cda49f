/**
 * Start-up's last check: one `GET /version` through arcproxy's own listener, exactly as kubectl
 * will send it, so the whole path (listener, header rewriting, relay, agent, apiserver) is proven
 * before "ready" — and its code is warm for the user's first request. A failure never stops
 * start-up (the agent may come back); it is reported so the user knows before kubectl does.
 */
import { request } from 'node:https';
import type { SessionPki } from '../pki/session-pki.js';

export interface ProbeResult {
  /** HTTP status from the cluster, or 0 when no answer came. */
  status: number;
  /** The cluster's Kubernetes version, when it answered. */
  gitVersion?: string;
  /** The Status message of a refusal. */
  message?: string;
}

const PROBE_TIMEOUT_MS = 10_000;

export function probeCluster(opts: { port: number; pathPrefix: string; pki: SessionPki; token?: string }): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: opts.port,
        path: `${opts.pathPrefix}/version?timeout=5s`,
        method: 'GET',
        ca: opts.pki.caCert,
        cert: opts.pki.client.cert,
        key: opts.pki.client.key,
        servername: 'localhost',
        agent: false,
        headers: { accept: 'application/json', 'user-agent': 'arcproxy/start-up-check', ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}) },
        timeout: PROBE_TIMEOUT_MS,
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          if (text.length < 64 * 1024) text += d;
        });
        res.on('end', () => {
          let body: { gitVersion?: unknown; message?: unknown } = {};
          try {
            body = JSON.parse(text) as typeof body;
          } catch {
            // Not JSON: only the status counts.
          }
          resolve({
            status: res.statusCode ?? 0,
            ...(typeof body.gitVersion === 'string' ? { gitVersion: body.gitVersion } : {}),
            ...(typeof body.message === 'string' ? { message: body.message } : {}),
          });
        });
        res.on('error', () => resolve({ status: res.statusCode ?? 0 }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve({ status: 0 }));
    req.end();
  });
}
