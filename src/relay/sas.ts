/**
 * Service Bus / Azure Relay Shared Access Signatures: both sides of the protocol live here so
 * that the client (a sender) and the emulator (the service) agree byte for byte.
 *
 *   SharedAccessSignature sr={enc(uri)}&sig={enc(base64(HMAC-SHA256(key, enc(uri) + "\n" + se)))}&se={unix s}&skn={name}
 *
 * The HMAC key is the UTF-8 bytes of the key string (it is not base64-decoded). The service
 * verifies over the raw `sr` text as sent.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export interface SasToken {
  /** The resource URI, decoded. */
  resource: string;
  /** The `sr` value exactly as it appears in the token (still URL-encoded). */
  rawResource: string;
  signature: string;
  /** Expiry, unix seconds. */
  expiry: number;
  keyName: string;
}

export interface CreateSasOptions {
  resourceUri: string;
  keyName: string;
  key: string;
  /** Expiry, unix seconds. */
  expiry: number;
}

const PREFIX = 'SharedAccessSignature ';

function sign(key: string, encodedResource: string, expiry: number | string): string {
  return createHmac('sha256', Buffer.from(key, 'utf8')).update(`${encodedResource}\n${expiry}`).digest('base64');
}

export function createSas({ resourceUri, keyName, key, expiry }: CreateSasOptions): string {
  const sr = encodeURIComponent(resourceUri);
  const sig = encodeURIComponent(sign(key, sr, expiry));
  return `${PREFIX}sr=${sr}&sig=${sig}&se=${expiry}&skn=${encodeURIComponent(keyName)}`;
}

/** Parses a token; returns undefined when it is not a well-formed SAS. */
export function parseSas(token: string): SasToken | undefined {
  if (!token.startsWith(PREFIX)) return undefined;
  const fields = new Map<string, string>();
  for (const part of token.slice(PREFIX.length).split('&')) {
    const eq = part.indexOf('=');
    if (eq <= 0) return undefined;
    fields.set(part.slice(0, eq), part.slice(eq + 1));
  }
  const sr = fields.get('sr');
  const sig = fields.get('sig');
  const se = fields.get('se');
  const skn = fields.get('skn');
  if (!sr || !sig || !se || !skn || !/^\d+$/.test(se)) return undefined;
  try {
    return {
      resource: decodeURIComponent(sr),
      rawResource: sr,
      signature: decodeURIComponent(sig),
      expiry: Number(se),
      keyName: decodeURIComponent(skn),
    };
  } catch {
    return undefined;
  }
}

/** True when the token's signature was made with `key` (constant-time comparison). */
export function hasValidSignature(token: SasToken, key: string): boolean {
  const expected = Buffer.from(sign(key, token.rawResource, token.expiry));
  const actual = Buffer.from(token.signature);
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

/**
 * True when a token issued for `tokenResource` covers `resource`: Service Bus treats a token as
 * valid for every resource under its URI. Scheme and host case are ignored, trailing slashes too.
 */
export function resourceCovers(tokenResource: string, resource: string): boolean {
  const norm = (u: string) =>
    u
      .replace(/^[a-z]+:\/\//i, '')
      .replace(/\/+$/, '')
      .toLowerCase();
  const t = norm(tokenResource);
  const r = norm(resource);
  return r === t || r.startsWith(`${t}/`);
}

/** Seconds left before the token expires (negative once expired). */
export function secondsLeft(token: SasToken, nowMs = Date.now()): number {
  return token.expiry - Math.floor(nowMs / 1000);
}

/** Removes the signature from a SAS so it can appear in a log line. */
export function redactSas(text: string): string {
  return text.replace(/sig=[^&\s"']+/gi, 'sig=REDACTED');
}
