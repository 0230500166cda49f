/**
 * Header rewriting between the relay side and the apiserver: hop-by-hop headers stay on their
 * hop, and in Entra mode the caller's credential is swapped for the agent's plus impersonation.
 * Headers are built from `rawHeaders` so repeated ones (Impersonate-Group, Set-Cookie) stay repeated.
 */
import { HOP_BY_HOP_HEADERS } from '../../net/hop-by-hop.js';
import type { AuthDecision } from './entra-auth.js';

export type HeaderMap = Record<string, string | string[]>;

const HOP_BY_HOP = HOP_BY_HOP_HEADERS;

/** Groups `rawHeaders` ([name, value, name, value, ...]) by lower-case name, keeping order. */
function groupRawHeaders(raw: readonly string[], drop: (name: string) => boolean = () => false): HeaderMap {
  const out: HeaderMap = {};
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    if (drop(name)) continue;
    const value = raw[i + 1]!;
    const prev = out[name];
    if (prev === undefined) out[name] = value;
    else if (Array.isArray(prev)) prev.push(value);
    else out[name] = [prev, value];
  }
  return out;
}

/** Names a `Connection` header lists are hop-by-hop too. */
function connectionTokens(raw: readonly string[]): Set<string> {
  const tokens = new Set<string>();
  for (let i = 0; i + 1 < raw.length; i += 2) {
    if (raw[i]!.toLowerCase() !== 'connection') continue;
    for (const t of raw[i + 1]!.split(',')) tokens.add(t.trim().toLowerCase());
  }
  return tokens;
}

/** End-to-end headers only; Node re-frames the body (content-length or chunked) itself. */
export function endToEndHeaders(raw: readonly string[]): HeaderMap {
  const listed = connectionTokens(raw);
  return groupRawHeaders(raw, (name) => HOP_BY_HOP.has(name) || listed.has(name));
}

/**
 * Request headers for the apiserver. `keepUpgrade` keeps Connection/Upgrade (an upgrade request
 * is relayed byte for byte after its head). Host is always the apiserver's.
 */
export function upstreamRequestHeaders(raw: readonly string[], auth: AuthDecision, agentToken: string, upstreamHost: string, keepUpgrade: boolean): HeaderMap {
  const headers = keepUpgrade ? groupRawHeaders(raw) : endToEndHeaders(raw);
  if (!keepUpgrade && /\bchunked\b/i.test(String(groupRawHeaders(raw)['transfer-encoding'] ?? ''))) {
    // Tells Node's client to chunk the body it streams on (no length is known).
    headers['transfer-encoding'] = 'chunked';
  }
  headers.host = upstreamHost;
  if (auth.mode === 'entra') {
    for (const name of Object.keys(headers)) {
      if (name.startsWith('impersonate-')) delete headers[name];
    }
    headers.authorization = `Bearer ${agentToken}`;
    headers['impersonate-user'] = auth.user;
    if (auth.groups.length > 0) headers['impersonate-group'] = [...auth.groups];
  }
  return headers;
}

/** Serialises a request head for a raw (upgrade) connection. */
export function serializeRequestHead(method: string, path: string, headers: HeaderMap): string {
  let head = `${method} ${path} HTTP/1.1\r\n`;
  for (const [name, value] of Object.entries(headers)) {
    for (const v of Array.isArray(value) ? value : [value]) {
      // Header values came through Node's parser, but a CR/LF must never split the head.
      if (/[\r\n]/.test(v)) continue;
      head += `${name}: ${v}\r\n`;
    }
  }
  return `${head}\r\n`;
}
