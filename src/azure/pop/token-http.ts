/**
 * One form POST to a Microsoft Entra v2 endpoint of one authority, over the cloud profile's
 * transport (host map and CA, TLS verification on), and the error a failed one becomes. Nothing
 * that was sent (secret, assertion, refresh token, device code) and no token that came back ever
 * reaches a message: descriptions from Entra are cut to their first line and scrubbed of every
 * value of the request.
 */
import type { IncomingHttpHeaders } from 'node:http';
import https from 'node:https';
import { randomUUID } from 'node:crypto';
import { redactSecrets } from '../../errors/index.js';
import type { CloudProfile } from '../../net/cloud-profile.js';
import { AuthError } from '../auth-error.js';
import { cloudAgentFor } from '../transport.js';

/** One authority: the cloud's sign-in host and a tenant (id, domain or alias such as `organizations`). */
export interface EntraEndpoint {
  cloud: CloudProfile;
  tenantId: string;
}

/** Entra answers in well under a second; a minute means it is not going to. */
const TOKEN_REQUEST_TIMEOUT_MS = 30_000;
/** Token responses are a few KB; anything far larger is not one. */
const MAX_RESPONSE_BYTES = 256 * 1024;

/** A token request Entra refused or that could not be made. The message is safe to show and log. */
export class EntraTokenError extends AuthError {
  /** HTTP status of Entra's answer; undefined when there was none (network, TLS, timeout). */
  readonly status: number | undefined;
  /** The OAuth `error` (invalid_client, authorization_pending, ...), when Entra sent one. */
  readonly oauthError: string | undefined;
  /** The first AADSTS code of the answer. */
  readonly aadsts: number | undefined;
  /** How long Entra asked the client to wait before the next request (Retry-After), when it did. */
  readonly retryAfterMs: number | undefined;

  constructor(message: string, details: { status?: number; oauthError?: string; aadsts?: number; retryAfterMs?: number; cause?: unknown } = {}) {
    super('ARCPROXY_AUTH_FAILED', message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'EntraTokenError';
    this.status = details.status;
    this.oauthError = details.oauthError;
    this.aadsts = details.aadsts;
    this.retryAfterMs = details.retryAfterMs;
  }
}

/** `${authorityHost}/${tenant}/oauth2/v2.0/${name}`. */
export function entraEndpointUrl(endpoint: EntraEndpoint, name: 'token' | 'devicecode'): string {
  const tenant = endpoint.tenantId;
  // The tenant becomes a path segment: ids, domain names and aliases only.
  if (!/^[A-Za-z0-9][A-Za-z0-9.-]*$/.test(tenant)) {
    throw new EntraTokenError(`"${tenant.slice(0, 80)}" is not a tenant id or domain name Microsoft Entra ID knows.`);
  }
  return `${endpoint.cloud.authorityHost.replace(/\/+$/, '')}/${tenant}/oauth2/v2.0/${name}`;
}

export interface FormPostOptions {
  signal?: AbortSignal | undefined;
  /** Values of the request that must never appear in a message (secrets, assertions, codes). */
  secrets: readonly string[];
  timeoutMs?: number;
}

/** The parsed JSON object of a 200 answer. Any other answer throws EntraTokenError. */
export async function postForm(cloud: CloudProfile, url: string, form: URLSearchParams, opts: FormPostOptions): Promise<Record<string, unknown>> {
  const scrub = (text: string) => scrubbed(text, opts.secrets);
  let answer: Answer;
  try {
    answer = await send(cloud, url, form.toString(), opts);
  } catch (err) {
    if (opts.signal?.aborted) throw opts.signal.reason;
    if (err instanceof EntraTokenError) throw err;
    const code = (err as { code?: unknown }).code;
    const why = `${typeof code === 'string' ? `${code}: ` : ''}${firstLine((err as Error).message ?? String(err))}`;
    throw new EntraTokenError(`Could not reach Microsoft Entra ID at ${originOf(url)} (${scrub(why)}).${hintFor(code, cloud)}`, { cause: err });
  }
  const body = parseJsonObject(answer.body);
  if (answer.status === 200) {
    if (!body) throw new EntraTokenError(`Microsoft Entra ID at ${originOf(url)} answered a token request with something that is not a JSON object.`);
    return body;
  }
  const asked = retryAfterMs(answer.headers);
  const wait = asked === undefined ? {} : { retryAfterMs: asked };
  if (!body || typeof body.error !== 'string') {
    throw new EntraTokenError(`Microsoft Entra ID at ${originOf(url)} answered HTTP ${answer.status} without an OAuth error.`, {
      status: answer.status,
      ...wait,
    });
  }
  const aadsts = firstAadsts(body);
  const description = typeof body.error_description === 'string' ? firstLine(body.error_description).replace(/^AADSTS\d+:\s*/, '') : '';
  const ids = [
    typeof body.trace_id === 'string' ? `trace id ${body.trace_id}` : '',
    typeof body.correlation_id === 'string' ? `correlation id ${body.correlation_id}` : '',
  ].filter(Boolean);
  const what = [`HTTP ${answer.status}`, body.error, aadsts === undefined ? '' : `AADSTS${aadsts}`].filter(Boolean).join(' ');
  const message = `Microsoft Entra ID refused the token request (${what})${description ? `: ${description}` : '.'}${ids.length > 0 ? ` [${ids.join(', ')}]` : ''}`;
  throw new EntraTokenError(scrub(message), { status: answer.status, oauthError: body.error, ...(aadsts === undefined ? {} : { aadsts }), ...wait });
}

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/**
 * The wait a throttled or unavailable service asks for, as Azure's SDK pipeline reads it:
 * `retry-after-ms` or `x-ms-retry-after-ms` in milliseconds, else `Retry-After` in seconds or as
 * an HTTP date. Undefined when there is none or it cannot be read.
 */
export function retryAfterMs(headers: IncomingHttpHeaders, now: number = Date.now()): number | undefined {
  for (const name of ['retry-after-ms', 'x-ms-retry-after-ms']) {
    const value = headers[name];
    if (typeof value === 'string' && /^\d+$/.test(value.trim())) return Number(value.trim());
  }
  const value = headers['retry-after']?.trim();
  if (value === undefined || value === '') return undefined;
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  // Every HTTP-date form starts with the day's name; Date.parse would take "-1" as a year.
  if (!/^[A-Za-z]{3}/.test(value)) return undefined;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

function send(cloud: CloudProfile, url: string, body: string, opts: FormPostOptions): Promise<Answer> {
  opts.signal?.throwIfAborted();
  const timeoutMs = opts.timeoutMs ?? TOKEN_REQUEST_TIMEOUT_MS;
  return new Promise((resolve, reject) => {
    const req = https.request(
      url,
      {
        method: 'POST',
        agent: cloudAgentFor(cloud),
        headers: {
          'content-type': 'application/x-www-form-urlencoded;charset=utf-8',
          'content-length': Buffer.byteLength(body),
          accept: 'application/json',
          // As MSAL sends them: Entra logs the id, and echoes it back for support cases.
          'client-request-id': randomUUID(),
          'return-client-request-id': 'true',
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_RESPONSE_BYTES) {
            req.destroy(new EntraTokenError(`Microsoft Entra ID at ${originOf(url)} answered with more than ${MAX_RESPONSE_BYTES} bytes.`));
            return;
          }
          chunks.push(chunk);
        });
        res.on('error', fail);
        res.on('end', () => {
          done();
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') });
        });
      },
    );
    const onAbort = () => req.destroy(opts.signal?.reason instanceof Error ? opts.signal.reason : new Error('aborted'));
    const timer = setTimeout(
      () => req.destroy(new EntraTokenError(`Microsoft Entra ID at ${originOf(url)} did not answer within ${timeoutMs / 1000} s.`)),
      timeoutMs,
    );
    timer.unref();
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    function done() {
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
    }
    function fail(err: Error) {
      done();
      reject(err);
    }
    req.on('error', fail);
    req.end(body);
  });
}

function parseJsonObject(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function firstAadsts(body: Record<string, unknown>): number | undefined {
  const codes = body.error_codes;
  if (Array.isArray(codes) && typeof codes[0] === 'number') return codes[0];
  const m = typeof body.error_description === 'string' ? /^AADSTS(\d+)/.exec(body.error_description) : null;
  return m ? Number(m[1]) : undefined;
}

function hintFor(code: unknown, cloud: CloudProfile): string {
  if (typeof code === 'string' && /CERT|SELF_SIGNED|UNABLE_TO_VERIFY/.test(code)) {
    return cloud.ca
      ? " The TLS certificate is not signed by the cloud profile's CA."
      : ' The TLS certificate is not trusted: a custom cloud profile needs its "ca".';
  }
  return " Check the network, any proxy, and the cloud profile's authority host.";
}

function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return 'the authority';
  }
}

/** The first non-empty line, at most 400 characters. */
export function firstLine(text: string): string {
  const line = text.split(/\r?\n/).find((l) => l.trim() !== '') ?? '';
  return line.length > 400 ? `${line.slice(0, 400)}…` : line.trim();
}

/** Removes every request value (and anything token-shaped) from text bound for a message. */
export function scrubbed(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) if (s.length >= 4) out = out.split(s).join('[redacted]');
  return redactSecrets(out);
}
