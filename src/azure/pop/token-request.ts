/**
 * arcproxy's own OAuth 2.0 client for Microsoft Entra ID's v2 endpoints of one authority, for
 * the requests MSAL for Node cannot make: a proof-of-possession token (body fields
 * `token_type=pop` and `req_cnf`) with client credentials, a certificate, a federated assertion,
 * a device code or a refresh token. Minimal and strict: one form POST per request over the cloud
 * profile's transport, answers checked field by field, and a PoP request whose answer is not bound
 * to the key it named is an error.
 */
import { decodeJwt } from 'jose';
import { ArcproxyError } from '../../errors/index.js';
import { certificateAssertion, parseClientCertificate, type ClientCertificate } from './client-certificate.js';
import { EntraTokenError, entraEndpointUrl, postForm, type EntraEndpoint } from './token-http.js';

export { EntraTokenError, entraEndpointUrl, type EntraEndpoint } from './token-http.js';

export type TokenGrant =
  | { kind: 'client_secret'; clientId: string; clientSecret: string }
  /** `certificatePem`: the PEM file AZURE_CLIENT_CERTIFICATE_PATH names, certificate and private key. */
  | { kind: 'client_certificate'; clientId: string; certificatePem: string; password?: string }
  /** Workload identity: `getAssertion` reads the federated token file, fresh for each request. */
  | { kind: 'client_assertion'; clientId: string; getAssertion: () => Promise<string> }
  | { kind: 'refresh_token'; clientId: string; refreshToken: string };

/** What to bind the token to: `reqCnf` is `reqCnf(kid)` of src/azure/pop/pop-key.ts. */
export interface PopRequest {
  reqCnf: string;
  kid: string;
}

export interface TokenResult {
  accessToken: string;
  tokenType: 'pop' | 'Bearer';
  /** When the access token expires, counted from when the request was sent. */
  expiresOnMs: number;
  /** User sign-ins (device code, refresh token): the refresh token to renew with. */
  refreshToken?: string;
  /** The scopes Entra granted, when it said. */
  scope?: string;
  /** The ID token's claims (not verified: for naming the account in a cache, never for trust). */
  idTokenClaims?: Readonly<Record<string, unknown>>;
  /** MSAL's `client_info`: the account's object id (uid) and home tenant (utid). */
  clientInfo?: { uid: string; utid: string };
}

export interface TokenRequestOptions {
  pop?: PopRequest | undefined;
  signal?: AbortSignal | undefined;
  /** A claims challenge's claims (JSON), sent as MSAL sends them: the token must satisfy them. */
  claims?: string;
  /** Milliseconds since the epoch; injected by tests. */
  now?: () => number;
}

export const CLIENT_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const DEVICE_CODE_GRANT_TYPE = 'urn:ietf:params:oauth:grant-type:device_code';
/** What MSAL adds to every user sign-in: an ID token, the account and a refresh token. */
const USER_SIGN_IN_SCOPES = ['openid', 'profile', 'offline_access'];

/** Parsed certificate files, per grant object: a session asks for a token every hour with the same grant. */
const certificates = new WeakMap<object, ClientCertificate>();

/** Requests an access token for `scope` with `grant`, bound to `opts.pop` when given. */
export async function requestToken(endpoint: EntraEndpoint, grant: TokenGrant, scope: string, opts: TokenRequestOptions = {}): Promise<TokenResult> {
  const now = opts.now ?? Date.now;
  const url = entraEndpointUrl(endpoint, 'token');
  const form = new URLSearchParams({ client_id: grant.clientId });
  const secrets: string[] = [];
  switch (grant.kind) {
    case 'client_secret':
      form.set('grant_type', 'client_credentials');
      form.set('client_secret', grant.clientSecret);
      secrets.push(grant.clientSecret);
      form.set('scope', scope);
      break;
    case 'client_certificate': {
      const assertion = await certificateAssertion(certificateOf(grant), grant.clientId, url, now() / 1000);
      setAssertion(form, assertion, secrets);
      if (grant.password) secrets.push(grant.password);
      form.set('scope', scope);
      break;
    }
    case 'client_assertion': {
      setAssertion(form, await federatedAssertion(grant), secrets);
      form.set('scope', scope);
      break;
    }
    case 'refresh_token':
      form.set('grant_type', 'refresh_token');
      form.set('refresh_token', grant.refreshToken);
      secrets.push(grant.refreshToken);
      form.set('scope', userScope(scope));
      break;
  }
  return exchange(endpoint, url, form, secrets, opts);
}

export interface DeviceCodeStart {
  deviceCode: string;
  userCode: string;
  verificationUri: string;
  /** Entra's instructions for the user, naming the page and the code. */
  message: string;
  intervalSec: number;
  expiresInSec: number;
}

/** Starts a device-code sign-in (RFC 8628 §3.1) for a public client. */
export async function startDeviceCode(
  endpoint: EntraEndpoint,
  clientId: string,
  scope: string,
  opts: { signal?: AbortSignal | undefined } = {},
): Promise<DeviceCodeStart> {
  const form = new URLSearchParams({ client_id: clientId, scope: userScope(scope) });
  const body = await postForm(endpoint.cloud, entraEndpointUrl(endpoint, 'devicecode'), form, { signal: opts.signal, secrets: [] });
  const deviceCode = requiredString(body, 'device_code');
  const userCode = requiredString(body, 'user_code');
  const verificationUri = requiredString(body, 'verification_uri');
  const expiresInSec = positiveSeconds(body, 'expires_in');
  // RFC 8628 §3.2: without an interval the client waits 5 seconds.
  const intervalSec = body.interval === undefined ? 5 : positiveSeconds(body, 'interval');
  const message =
    typeof body.message === 'string' && body.message !== ''
      ? body.message
      : `To sign in, use a web browser to open the page ${verificationUri} and enter the code ${userCode} to authenticate.`;
  return { deviceCode, userCode, verificationUri, message, intervalSec, expiresInSec };
}

export interface DeviceCodePollOptions {
  pop?: PopRequest | undefined;
  signal?: AbortSignal | undefined;
  /** From startDeviceCode. */
  intervalSec: number;
  expiresInSec: number;
  /** Waits between polls; rejects with the signal's reason when aborted. Injected by tests. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  now?: () => number;
}

/**
 * Polls for the token of a device-code sign-in (RFC 8628 §3.4–3.5): the first poll at once, then
 * one every `intervalSec`; `authorization_pending` keeps polling, `slow_down` adds 5 seconds to
 * the interval, `expired_token` (or the code's lifetime running out here) and
 * `authorization_declined` end it, as does an aborted signal.
 */
export async function pollDeviceCode(
  endpoint: EntraEndpoint,
  clientId: string,
  deviceCode: string,
  scope: string,
  opts: DeviceCodePollOptions,
): Promise<TokenResult> {
  const now = opts.now ?? Date.now;
  const sleep = opts.sleep ?? abortableSleep;
  const deadline = now() + opts.expiresInSec * 1000;
  let intervalMs = Math.max(1, opts.intervalSec) * 1000;
  const url = entraEndpointUrl(endpoint, 'token');
  for (;;) {
    opts.signal?.throwIfAborted();
    const form = new URLSearchParams({ grant_type: DEVICE_CODE_GRANT_TYPE, client_id: clientId, device_code: deviceCode, scope: userScope(scope) });
    try {
      return await exchange(endpoint, url, form, [deviceCode], { pop: opts.pop, signal: opts.signal, now });
    } catch (err) {
      if (!(err instanceof EntraTokenError)) throw err;
      if (err.oauthError === 'slow_down') intervalMs += 5000;
      else if (err.oauthError === 'expired_token') throw deviceCodeExpired(err);
      else if (err.oauthError === 'authorization_declined') {
        throw new EntraTokenError('The device-code sign-in was declined in the browser.', { status: err.status, oauthError: err.oauthError, cause: err });
      } else if (err.oauthError !== 'authorization_pending') throw err;
    }
    if (now() + intervalMs > deadline) throw deviceCodeExpired();
    await sleep(intervalMs, opts.signal);
  }
}

function deviceCodeExpired(cause?: EntraTokenError): EntraTokenError {
  return new EntraTokenError('The device code expired before the sign-in was completed in the browser; run arcproxy again to get a new code.', {
    oauthError: 'expired_token',
    ...(cause ? { status: cause.status, cause } : {}),
  });
}

/** Sends a token request and checks its answer, including the PoP binding. */
async function exchange(endpoint: EntraEndpoint, url: string, form: URLSearchParams, secrets: string[], opts: TokenRequestOptions): Promise<TokenResult> {
  const now = opts.now ?? Date.now;
  if (opts.pop) {
    checkPopRequest(opts.pop);
    form.set('token_type', 'pop');
    form.set('req_cnf', opts.pop.reqCnf);
  }
  if (opts.claims) form.set('claims', opts.claims);
  const sentAtMs = now();
  const body = await postForm(endpoint.cloud, url, form, { signal: opts.signal, secrets });
  const accessToken = requiredString(body, 'access_token');
  const tokenType = tokenTypeOf(body);
  const expiresInSec = positiveSeconds(body, 'expires_in');
  if (opts.pop) checkBinding(accessToken, tokenType, opts.pop.kid);
  else if (tokenType === 'pop') throw new EntraTokenError('Microsoft Entra ID answered a Bearer token request with a proof-of-possession token.');
  const result: TokenResult = { accessToken, tokenType, expiresOnMs: sentAtMs + expiresInSec * 1000 };
  const refreshToken = optionalString(body, 'refresh_token');
  if (refreshToken !== undefined) result.refreshToken = refreshToken;
  const scope = optionalString(body, 'scope');
  if (scope !== undefined) result.scope = scope;
  const idToken = optionalString(body, 'id_token');
  if (idToken !== undefined) result.idTokenClaims = idTokenClaimsOf(idToken);
  const clientInfo = optionalString(body, 'client_info');
  if (clientInfo !== undefined) result.clientInfo = clientInfoOf(clientInfo);
  return result;
}

/** The request's own consistency: a req_cnf naming another key than `kid` is a bug of the caller. */
function checkPopRequest(pop: PopRequest): void {
  let kid: unknown;
  try {
    kid = (JSON.parse(Buffer.from(pop.reqCnf, 'base64url').toString('utf8')) as { kid?: unknown }).kid;
  } catch {
    kid = undefined;
  }
  if (kid !== pop.kid || pop.kid === '') {
    throw new ArcproxyError('ARCPROXY_INTERNAL', 'The proof-of-possession request names a req_cnf that is not for its key id.');
  }
}

/**
 * Entra binds a PoP token by answering token_type "pop" and writing the key id into the access
 * token's `cnf.kid`; MSAL checks the same before it uses one (tokenClaimsCnfRequiredForSignedJwt).
 */
function checkBinding(accessToken: string, tokenType: 'pop' | 'Bearer', kid: string): void {
  if (tokenType !== 'pop') {
    throw new EntraTokenError(
      'Microsoft Entra ID answered a proof-of-possession token request with a Bearer token: the authority did not bind the token to the key, so a cluster that enforces PoP would refuse it.',
    );
  }
  let cnf: unknown;
  try {
    cnf = decodeJwt(accessToken).cnf;
  } catch {
    throw new EntraTokenError('Microsoft Entra ID answered token_type pop with an access token that is not a JWT: its key binding cannot be checked.');
  }
  const bound = typeof cnf === 'object' && cnf !== null ? (cnf as { kid?: unknown }).kid : undefined;
  if (bound !== kid) {
    throw new EntraTokenError(
      typeof bound === 'string'
        ? `Microsoft Entra ID bound the token to key ${JSON.stringify(bound.slice(0, 64))}, not to the requested key ${kid}.`
        : 'Microsoft Entra ID answered token_type pop, but the access token has no cnf.kid naming the key it is bound to.',
    );
  }
}

function certificateOf(grant: Extract<TokenGrant, { kind: 'client_certificate' }>): ClientCertificate {
  let cert = certificates.get(grant);
  if (!cert) {
    cert = parseClientCertificate(grant.certificatePem, grant.password);
    certificates.set(grant, cert);
  }
  return cert;
}

async function federatedAssertion(grant: Extract<TokenGrant, { kind: 'client_assertion' }>): Promise<string> {
  let assertion: string;
  try {
    assertion = (await grant.getAssertion()).trim();
  } catch (err) {
    if (err instanceof ArcproxyError) throw err;
    throw new EntraTokenError(`Reading the federated token for workload identity failed: ${(err as Error).message ?? String(err)}`, { cause: err });
  }
  if (assertion === '') throw new EntraTokenError('The federated token for workload identity is empty.');
  return assertion;
}

function setAssertion(form: URLSearchParams, assertion: string, secrets: string[]): void {
  form.set('grant_type', 'client_credentials');
  form.set('client_assertion_type', CLIENT_ASSERTION_TYPE);
  form.set('client_assertion', assertion);
  secrets.push(assertion);
}

/** A user sign-in's scope with the OIDC scopes MSAL adds (ID token, account, refresh token). */
function userScope(scope: string): string {
  const parts = scope.split(/\s+/).filter(Boolean);
  const lower = new Set(parts.map((p) => p.toLowerCase()));
  return [...parts, ...USER_SIGN_IN_SCOPES.filter((s) => !lower.has(s))].join(' ');
}

/** Waits `ms`; an abort ends the wait at once with the signal's reason. */
export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function badAnswer(what: string): EntraTokenError {
  return new EntraTokenError(`Microsoft Entra ID's answer is not a valid token response: ${what}.`);
}

function requiredString(body: Record<string, unknown>, name: string): string {
  const v = body[name];
  if (typeof v !== 'string' || v === '') throw badAnswer(`"${name}" is missing or not a string`);
  return v;
}

function optionalString(body: Record<string, unknown>, name: string): string | undefined {
  const v = body[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw badAnswer(`"${name}" is not a string`);
  return v === '' ? undefined : v;
}

/** A positive number of seconds; Entra sends numbers, older endpoints numeric strings. */
function positiveSeconds(body: Record<string, unknown>, name: string): number {
  const v = body[name];
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : NaN;
  if (!Number.isFinite(n) || n <= 0) throw badAnswer(`"${name}" is not a positive number of seconds`);
  return n;
}

function tokenTypeOf(body: Record<string, unknown>): 'pop' | 'Bearer' {
  const v = body.token_type;
  if (typeof v === 'string' && v.toLowerCase() === 'pop') return 'pop';
  if (typeof v === 'string' && v.toLowerCase() === 'bearer') return 'Bearer';
  throw badAnswer(`token_type ${typeof v === 'string' ? JSON.stringify(v.slice(0, 20)) : 'is missing'}, not "Bearer" or "pop"`);
}

function idTokenClaimsOf(idToken: string): Readonly<Record<string, unknown>> {
  try {
    return Object.freeze({ ...decodeJwt(idToken) });
  } catch {
    throw badAnswer('"id_token" is not a JWT');
  }
}

function clientInfoOf(text: string): { uid: string; utid: string } {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    value = undefined;
  }
  const { uid, utid } = (typeof value === 'object' && value !== null ? value : {}) as { uid?: unknown; utid?: unknown };
  if (typeof uid !== 'string' || typeof utid !== 'string') throw badAnswer('"client_info" is not base64url JSON with uid and utid');
  return { uid, utid };
}
