/**
 * The measuring pieces of `arcproxy diagnose` (diagnose.ts): what a token says about itself
 * (claims only, never the token), and one request through a relay stream read as the proxy reads
 * it, keeping the status line, headers and the first bytes of the answer. Nothing here keeps a
 * secret: headers pass through redactHeaders, text through redactSecrets.
 */
import type { Duplex } from 'node:stream';
import { ArcproxyError, redactHeaders, redactSecrets } from '../errors/index.js';
import { ResponseParser } from '../proxy/http1-response.js';

/** The first bytes of an answer a report shows. */
export const BODY_PREVIEW_BYTES = 512;

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** The decoded header and payload of a JWT / JWS, or undefined when it is not one. */
function decodeJws(token: string): { header: Record<string, unknown>; payload: Record<string, unknown> } | undefined {
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  try {
    const header: unknown = JSON.parse(Buffer.from(parts[0]!, 'base64url').toString('utf8'));
    const payload: unknown = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8'));
    return isObject(header) && isObject(payload) ? { header, payload } : undefined;
  } catch {
    return undefined;
  }
}

const iso = (seconds: unknown): string | undefined =>
  typeof seconds === 'number' && Number.isFinite(seconds) ? new Date(seconds * 1000).toISOString() : undefined;

/** Keeps the named fields that are present (strings and numbers only). */
function pick(obj: Record<string, unknown>, names: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const n of names) if (typeof obj[n] === 'string' || typeof obj[n] === 'number') out[n] = obj[n];
  return out;
}

/**
 * What an Entra access token says about itself, without who signed in (no oid, upn or name: a
 * report is meant to be pasted into an issue): audience, issuer, tenant, client, expiry, and the
 * `cnf` that binds it to a key (present: PoP-bound).
 */
export function accessTokenClaims(token: string): Record<string, unknown> {
  const jws = decodeJws(token);
  if (!jws) return { format: 'not a JWT' };
  const p = jws.payload;
  const cnf = isObject(p.cnf) ? pick(p.cnf, ['kid', 'xms_ksl']) : undefined;
  const exp = iso(p.exp);
  return {
    ...pick(p, ['aud', 'iss', 'tid', 'appid', 'azp', 'idtyp', 'ver', 'scp']),
    ...(exp ? { expiresOn: exp } : {}),
    popBound: cnf !== undefined,
    ...(cnf ? { cnf } : {}),
  };
}

/** What a PoP SHR carries besides the access token: its header, `u`, `ts` and the key's id. */
export function shrClaims(shr: string): Record<string, unknown> | undefined {
  const jws = decodeJws(shr);
  if (!jws) return undefined;
  const p = jws.payload;
  const jwk = isObject(p.cnf) && isObject(p.cnf.jwk) ? p.cnf.jwk : undefined;
  const ts = iso(p.ts);
  return {
    header: pick(jws.header, ['typ', 'alg', 'kid']),
    ...pick(p, ['u']),
    ...(ts ? { ts } : {}),
    ...(jwk ? { jwk: pick(jwk, ['kty', 'alg', 'kid']) } : {}),
    nonce: typeof p.nonce === 'string' && p.nonce !== '',
    accessToken: typeof p.at === 'string' ? accessTokenClaims(p.at) : 'missing',
  };
}

/** `Name: value` lines, credentials redacted. */
export function headerLines(raw: readonly string[]): string[] {
  const safe = redactHeaders(raw);
  const out: string[] = [];
  for (let i = 0; i + 1 < safe.length; i += 2) out.push(`${safe[i]}: ${safe[i + 1]}`);
  return out;
}

export interface TunnelAnswer {
  statusCode: number;
  statusLine: string;
  /** `Name: value`, as received, credentials redacted. */
  headers: string[];
  /** The first BODY_PREVIEW_BYTES of the body, as text, secrets redacted. */
  bodyPreview: string;
  /** Body bytes read in all. */
  bodyBytes: number;
  /** The Status `message` of a JSON answer, when it has one. */
  message?: string;
}

/** Reads at most this much of a body; a report needs its start only. */
const MAX_BODY_READ = 64 * 1024;

/**
 * Writes `head` onto `stream` and reads the answer with the proxy's own HTTP/1.1 parser. Settles
 * when the answer is complete, the stream ends, MAX_BODY_READ bytes came, or after `timeoutMs`;
 * rejects with ARCPROXY_CLUSTER_REQUEST_FAILED when no answer head came.
 */
export function exchangeOnStream(stream: Duplex, head: string, timeoutMs: number): Promise<TunnelAnswer> {
  return new Promise((resolve, reject) => {
    let answer: Omit<TunnelAnswer, 'bodyPreview' | 'bodyBytes'> | undefined;
    const kept: Buffer[] = [];
    let bodyBytes = 0;
    let settled = false;
    const done = (): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      stream.off('data', onData);
      stream.destroy();
      if (!answer) return;
      const body = Buffer.concat(kept);
      let message: string | undefined;
      try {
        const parsed: unknown = JSON.parse(body.toString('utf8'));
        if (isObject(parsed) && typeof parsed.message === 'string') message = redactSecrets(parsed.message);
      } catch {
        // Not JSON, or cut short: the preview says enough.
      }
      resolve({
        ...answer,
        bodyPreview: redactSecrets(body.subarray(0, BODY_PREVIEW_BYTES).toString('utf8')),
        bodyBytes,
        ...(message !== undefined ? { message } : {}),
      });
    };
    const fail = (why: string, cause?: unknown): void => {
      if (answer) return done();
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      stream.destroy();
      reject(new ArcproxyError('ARCPROXY_CLUSTER_REQUEST_FAILED', `No HTTP answer came through the tunnel: ${redactSecrets(why)}`, { cause }));
    };
    const parser = new ResponseParser('GET', {
      onHead: (h) => {
        answer = {
          statusCode: h.statusCode,
          statusLine: `HTTP/1.${h.httpMinor} ${h.statusCode} ${h.statusMessage}`.trimEnd(),
          headers: headerLines(h.rawHeaders),
        };
      },
      onBody: (chunk) => {
        if (bodyBytes < MAX_BODY_READ) kept.push(chunk.subarray(0, MAX_BODY_READ - bodyBytes));
        bodyBytes += chunk.length;
        if (bodyBytes >= MAX_BODY_READ) done();
      },
      onEnd: done,
    });
    const onData = (chunk: Buffer): void => {
      try {
        parser.execute(chunk);
      } catch (err) {
        fail(`the agent's answer is not HTTP/1.1 (${(err as Error).message})`, err);
      }
    };
    const timer = setTimeout(() => fail(`nothing within ${timeoutMs} ms`), timeoutMs);
    stream.on('data', onData);
    stream.on('end', () => {
      parser.finish();
      fail('the stream ended before an answer');
    });
    stream.on('close', () => fail('the stream closed before an answer'));
    stream.on('error', (err: Error) => fail(err.message, err));
    stream.write(Buffer.from(head, 'latin1'));
  });
}
