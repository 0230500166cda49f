/**
 * Test plumbing for the REST core: an apiserver from the demo seed over HTTPS with a test CA,
 * one-shot requests, and a line reader for streamed responses (watch, log follow).
 */
import { request as httpsRequest } from 'node:https';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { connect as tlsConnect } from 'node:tls';
import { createApiServer, type ApiServer, type ApiServerOptions } from '../../../../src/emulator/apiserver/index.js';
import { defaultSeed, type SeedKubernetes } from '../../../../src/emulator/seed.js';
import { createCertificateAuthority, issueServerCertificate } from '../../../../src/pki/certs.js';

export const TABLE_ACCEPT = 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json';

export function demoKubernetes(): SeedKubernetes {
  return defaultSeed().resourceGroups[0]!.clusters.find((c) => c.name === 'demo')!.kubernetes!;
}

export function tokenOf(kubernetes: SeedKubernetes, name: string): string {
  return kubernetes.serviceAccounts.find((sa) => sa.name === name)!.token;
}

export interface Harness {
  server: ApiServer;
  ca: string;
  kubernetes: SeedKubernetes;
  admin: string;
  viewer: string;
  nobody: string;
}

export async function startHarness(extra: Partial<ApiServerOptions> = {}): Promise<Harness> {
  const kubernetes = extra.kubernetes ?? demoKubernetes();
  const ca = await createCertificateAuthority('apiserver-unit-ca');
  const tls = await issueServerCertificate(ca, { commonName: 'localhost', ipAddresses: ['127.0.0.1'] });
  const server = await createApiServer({ ...extra, kubernetes, tls });
  return {
    server,
    ca: ca.cert,
    kubernetes,
    admin: tokenOf(kubernetes, 'demo-admin'),
    viewer: tokenOf(kubernetes, 'demo-viewer'),
    nobody: tokenOf(kubernetes, 'demo-nobody'),
  };
}

export interface RequestOptions {
  method?: string;
  token?: string;
  /** Extra headers; arrays become repeated headers. */
  headers?: Record<string, string | string[]>;
  body?: string | Buffer;
}

export interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  json<T = any>(): T;
}

function open(h: Harness, path: string, o: RequestOptions): Promise<IncomingMessage> {
  const url = new URL(path, h.server.url);
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, {
      method: o.method ?? 'GET',
      ca: h.ca,
      agent: false,
      headers: { ...(o.token ? { authorization: `Bearer ${o.token}` } : {}), ...o.headers },
    });
    req.on('response', resolve);
    req.on('error', reject);
    req.end(o.body);
  });
}

export async function call(h: Harness, path: string, o: RequestOptions = {}): Promise<Reply> {
  const res = await open(h, path, o);
  const chunks: Buffer[] = [];
  for await (const c of res) chunks.push(c as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return { status: res.statusCode ?? 0, headers: res.headers, text, json: () => JSON.parse(text) };
}

/** A streamed response read line by line as it arrives. */
export interface LineStream {
  status: number;
  headers: IncomingHttpHeaders;
  /** Resolves with the next complete line (without "\n"); rejects after timeoutMs. */
  next(timeoutMs?: number): Promise<string>;
  /** Resolves when the server ends the response. */
  ended: Promise<void>;
  close(): void;
}

export async function stream(h: Harness, path: string, o: RequestOptions = {}): Promise<LineStream> {
  const res = await open(h, path, o);
  const lines: string[] = [];
  const waiters: (() => void)[] = [];
  let partial = '';
  res.setEncoding('utf8');
  res.on('data', (d: string) => {
    partial += d;
    const parts = partial.split('\n');
    partial = parts.pop()!;
    lines.push(...parts);
    for (const w of waiters.splice(0)) w();
  });
  const ended = new Promise<void>((resolve) => res.on('end', () => resolve()));
  res.on('error', () => undefined);
  return {
    status: res.statusCode ?? 0,
    headers: res.headers,
    ended,
    next(timeoutMs = 5000) {
      return new Promise((resolve, reject) => {
        const take = () => {
          if (lines.length === 0) return false;
          clearTimeout(timer);
          resolve(lines.shift()!);
          return true;
        };
        const timer = setTimeout(() => reject(new Error(`no line within ${timeoutMs} ms`)), timeoutMs);
        if (take()) return;
        const retry = () => {
          if (!take()) waiters.push(retry);
        };
        waiters.push(retry);
        void ended.then(() => {
          if (lines.length === 0) {
            clearTimeout(timer);
            reject(new Error('stream ended'));
          }
        });
      });
    },
    close: () => res.destroy(),
  };
}

/** Sends a raw upgrade request and returns everything the server wrote before closing. */
export function rawUpgrade(h: Harness, path: string, headers: Record<string, string>, method = 'GET'): Promise<string> {
  const url = new URL(h.server.url);
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: url.hostname, port: Number(url.port), ca: h.ca, ALPNProtocols: ['http/1.1'] }, () => {
      const lines = [`${method} ${path} HTTP/1.1`, `Host: ${url.host}`, 'Connection: Upgrade', ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)];
      socket.write(`${lines.join('\r\n')}\r\n\r\n`);
    });
    let out = '';
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => (out += d));
    socket.on('end', () => resolve(out));
    socket.on('error', reject);
  });
}
