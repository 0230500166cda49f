/**
 * Proof-of-possession token requests: `token_type=pop` with `req_cnf`, the base64url JSON
 * `{"kid":"<RFC 7638 thumbprint>","xms_ksl":"sw"}` that kubelogin, MSAL and az send. Entra answers
 * `"token_type":"pop"` and writes `cnf: {kid, xms_ksl}` into the access token, binding it to the
 * client's key; a cluster that enforces PoP then checks the binding (agent/pop-verifier.ts).
 */
import { oauthErrors } from './errors.js';

/** The access token's `cnf` claim for a PoP-bound token. */
export interface PopConfirmation {
  kid: string;
  /** Where the key lives: "sw" (software), as Entra writes it for keys a client holds in memory. */
  xms_ksl: 'sw';
}

/** A bound on what we accept as a key id: real ones are 43 characters (a base64url SHA-256). */
const MAX_KID_LENGTH = 512;

/**
 * The confirmation a token request asks for: undefined for an ordinary (Bearer) request, a
 * `PopConfirmation` for `token_type=pop` with a well-formed `req_cnf`; throws the OAuth error
 * for anything in between. `req_cnf` without `token_type=pop` is ignored, as a Bearer request.
 */
export function requestedPopConfirmation(params: URLSearchParams): PopConfirmation | undefined {
  const tokenType = params.get('token_type');
  if (tokenType === null || tokenType.toLowerCase() === 'bearer') return undefined;
  if (tokenType.toLowerCase() !== 'pop') throw oauthErrors.invalidParameter('token_type', `Token type '${bounded(tokenType)}' is not supported.`);
  const reqCnf = params.get('req_cnf');
  // Assumed: Entra's answer to token_type=pop without req_cnf is not public; this is its usual
  // answer to a missing parameter (invalid_request, AADSTS900144).
  if (!reqCnf) throw oauthErrors.missingParameter('req_cnf');
  const kid = kidOf(reqCnf);
  if (kid === undefined) {
    throw oauthErrors.invalidParameter('req_cnf', 'It must be the base64url encoding of a JSON object with a string "kid".');
  }
  return { kid, xms_ksl: 'sw' };
}

function kidOf(reqCnf: string): string | undefined {
  // base64url, with or without padding; Buffer would skip other characters silently, so check first.
  if (!/^[A-Za-z0-9_-]+={0,2}$/.test(reqCnf)) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(reqCnf, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const kid = (value as { kid?: unknown }).kid;
  return typeof kid === 'string' && kid !== '' && kid.length <= MAX_KID_LENGTH ? kid : undefined;
}

function bounded(text: string): string {
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}
