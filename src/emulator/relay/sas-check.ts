/**
 * Relay access checks as Service Bus does them: the token must parse, cover the entity's URI,
 * name a SAS rule of that entity, carry that rule's HMAC over the raw `sr` + "\n" + `se`, be
 * unexpired, and the rule must grant the right the action needs (Send to connect, Listen to
 * listen). 401 for a token that is missing, malformed, badly signed or expired (each with its
 * own description); 403 for a good token used on another entity or without the right.
 */
import type { HybridConnectionEntry } from '../relay-directory.js';
import { hasValidSignature, parseSas, resourceCovers } from '../../relay/sas.js';
import type { ServiceFailure } from './service-errors.js';

export type RelayRight = 'Send' | 'Listen';

export interface TokenCheckInput {
  entry: HybridConnectionEntry;
  /** http://{host}/{entity path}: what the token's `sr` must cover. */
  entityUri: string;
  token: string | undefined;
  right: RelayRight;
  nowMs: number;
  /** Signatures revoked by the expire-tokens fault. */
  isRevoked: (signature: string) => boolean;
}

export type TokenCheck = { ok: true; expiry: number; signature: string } | ({ ok: false } & ServiceFailure);

function rulesOf(entry: HybridConnectionEntry): Map<string, { key: string; rights: RelayRight[] }> {
  return new Map([
    [entry.sendKeyName, { key: entry.sendKey, rights: ['Send'] as RelayRight[] }],
    [entry.listenKeyName, { key: entry.listenKey, rights: ['Listen'] as RelayRight[] }],
  ]);
}

export function checkRelayToken(input: TokenCheckInput): TokenCheck {
  const { token } = input;
  if (!token) {
    return { ok: false, status: 401, description: 'MissingToken: The request has no Relay access token (ServiceBusAuthorization header or sb-hc-token).' };
  }
  const sas = parseSas(token);
  if (!sas) {
    return { ok: false, status: 401, description: 'MalformedToken: The credentials in the authorization header are not a SharedAccessSignature.' };
  }
  if (!resourceCovers(sas.resource, input.entityUri)) {
    return { ok: false, status: 403, description: `InvalidAudience: The token's resource '${sas.resource}' does not cover '${input.entityUri}'.` };
  }
  const rule = rulesOf(input.entry).get(sas.keyName);
  if (!rule || !hasValidSignature(sas, rule.key)) {
    return { ok: false, status: 401, description: 'InvalidSignature: The token has an invalid signature.' };
  }
  const nowSeconds = Math.floor(input.nowMs / 1000);
  if (sas.expiry <= nowSeconds || input.isRevoked(sas.signature)) {
    const expiredAt = new Date(Math.min(sas.expiry * 1000, input.nowMs)).toISOString();
    return {
      ok: false,
      status: 401,
      description: `ExpiredToken: The token is expired. Expiration time: '${expiredAt}', Current time: '${new Date(input.nowMs).toISOString()}'.`,
    };
  }
  if (!rule.rights.includes(input.right)) {
    return { ok: false, status: 403, description: `Unauthorized access. '${input.right}' claim(s) are required to perform this operation.` };
  }
  return { ok: true, expiry: sas.expiry, signature: sas.signature };
}
