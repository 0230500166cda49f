/**
 * How arcproxy's own token requests to Entra (the client secret's, the cluster's PoP tokens, a
 * user sign-in's refresh) are retried, as the Azure SDK's pipeline retried the ones it used to
 * send: a request that failed on the way (connection failures, 408, 429 and 5xx but 501 and 505)
 * is sent again up to three times, about 1, 2 and 4 seconds apart, or after the wait Entra asked
 * for (Retry-After; for the client-credentials grant Entra asks 60 s). A wait longer than a minute
 * is not waited: the request fails at once, naming it. Entra's refusals (a wrong secret, a missing
 * consent) are not retried: they are not going to get better.
 */
import { EntraTokenError } from './token-http.js';
import { abortableSleep } from './token-request.js';

/** The SDK's default retry policy: 3 retries, exponential from about a second. */
const RETRY_DELAYS_MS = [1000, 2000, 4000];

/** A throttled sign-in waits at most this long for Entra; a longer Retry-After fails at once, saying so. */
const MAX_RETRY_AFTER_MS = 60_000;

const CONNECTION_FAILURES = new Set(['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN']);

export interface TokenRetryOptions {
  signal?: AbortSignal | undefined;
  /** Waits between tries; injected by tests. */
  sleep?: ((ms: number, signal: AbortSignal | undefined) => Promise<void>) | undefined;
  /** Told when Entra asked for a wait before the next try, and how long: a minute of silence looks like a hang. */
  onThrottled?: ((message: string) => void) | undefined;
}

/** `ask()`, and again after a failure worth another try (see above). */
export async function withTokenRetries<T>(ask: () => Promise<T>, opts: TokenRetryOptions = {}): Promise<T> {
  const sleep = opts.sleep ?? abortableSleep;
  for (let attempt = 0; ; attempt++) {
    try {
      return await ask();
    } catch (err) {
      const backoff = RETRY_DELAYS_MS[attempt];
      if (backoff === undefined || !retriable(err)) throw err;
      await sleep(waitBeforeRetry(err as EntraTokenError, backoff, opts.onThrottled), opts.signal);
    }
  }
}

/** Worth another try: Entra was not reached, or answered that it could not answer now. */
function retriable(err: unknown): boolean {
  if (!(err instanceof EntraTokenError)) return false;
  if (err.status === undefined) {
    const code = (err.cause as { code?: unknown } | undefined)?.code;
    return typeof code === 'string' && CONNECTION_FAILURES.has(code);
  }
  return err.status === 408 || err.status === 429 || (err.status >= 500 && err.status !== 501 && err.status !== 505);
}

/** Entra's own Retry-After when it sent one (as the SDK's throttling policy), else the backoff. */
function waitBeforeRetry(err: EntraTokenError, backoffMs: number, onThrottled: ((message: string) => void) | undefined): number {
  const asked = err.retryAfterMs;
  if (asked === undefined) return backoffMs;
  if (asked > MAX_RETRY_AFTER_MS) {
    throw new EntraTokenError(
      `${err.message} Microsoft Entra ID asks to wait ${Math.ceil(asked / 1000)} s before the next token request: too long to wait here. Entra throttles a client that asks for tokens too often: try again after that.`,
      {
        ...(err.status === undefined ? {} : { status: err.status }),
        ...(err.oauthError === undefined ? {} : { oauthError: err.oauthError }),
        ...(err.aadsts === undefined ? {} : { aadsts: err.aadsts }),
        retryAfterMs: asked,
        cause: err,
      },
    );
  }
  onThrottled?.(
    `Microsoft Entra ID asks arcproxy to wait ${Math.ceil(asked / 1000)} s before its next token request (HTTP ${err.status}); waiting, then trying again.`,
  );
  return asked;
}
