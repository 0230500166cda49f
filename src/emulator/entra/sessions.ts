/**
 * What the emulated Entra ID remembers between requests: pending device codes and the refresh
 * tokens it handed out. Both are opaque random strings bound to a principal and a client.
 */
import { randomBytes } from 'node:crypto';
import { opaqueToken } from './claims.js';

export interface DeviceCodeGrant {
  clientId: string;
  tenantId: string;
  scope: string;
  userCode: string;
  expiresAt: number;
  /** Polls answered authorization_pending before the sign-in counts as approved. */
  pendingPolls: number;
  /** Waits for the user to approve it (approve()), as a person in a browser would. */
  awaitingApproval: boolean;
}

export interface RefreshTokenGrant {
  objectId: string;
  clientId: string;
  tenantId: string;
  expiresAt: number;
}

/** Device codes live 15 minutes, as Entra's do. */
const DEVICE_CODE_LIFETIME_SECONDS = 15 * 60;
/** Refresh tokens: Entra's default inactivity lifetime is 90 days. */
const REFRESH_TOKEN_LIFETIME_SECONDS = 90 * 24 * 60 * 60;

const USER_CODE_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';

function userCode(): string {
  const bytes = randomBytes(9);
  let code = '';
  for (const b of bytes) code += USER_CODE_ALPHABET[b % USER_CODE_ALPHABET.length];
  return code;
}

export class DeviceCodeStore {
  readonly #grants = new Map<string, DeviceCodeGrant>();

  /**
   * `pendingPolls`: how many polls the "user" takes to approve (0: approved at the first poll);
   * `awaitingApproval`: pending until approve() names its user code.
   */
  create(
    clientId: string,
    tenantId: string,
    scope: string,
    nowSeconds: number,
    pendingPolls = 0,
    awaitingApproval = false,
  ): { deviceCode: string; grant: DeviceCodeGrant } {
    this.#purge(nowSeconds);
    const deviceCode = opaqueToken();
    const grant = { clientId, tenantId, scope, userCode: userCode(), expiresAt: nowSeconds + DEVICE_CODE_LIFETIME_SECONDS, pendingPolls, awaitingApproval };
    this.#grants.set(deviceCode, grant);
    return { deviceCode, grant };
  }

  /**
   * Redeems a code once it is approved. Returns 'expired' for a known but expired code,
   * 'pending' while the sign-in is not approved yet, undefined for an unknown code or one that
   * another client started.
   */
  redeem(deviceCode: string, clientId: string, nowSeconds: number): DeviceCodeGrant | 'expired' | 'pending' | undefined {
    const grant = this.#grants.get(deviceCode);
    if (!grant || grant.clientId.toLowerCase() !== clientId.toLowerCase()) return undefined;
    if (grant.expiresAt <= nowSeconds) {
      this.#grants.delete(deviceCode);
      return 'expired';
    }
    if (grant.awaitingApproval) return 'pending';
    if (grant.pendingPolls > 0) {
      grant.pendingPolls -= 1;
      return 'pending';
    }
    this.#grants.delete(deviceCode);
    return grant;
  }

  /** The user entered `userCode` and approved the sign-in; false when no live sign-in has that code. */
  approve(userCode: string, nowSeconds: number): boolean {
    this.#purge(nowSeconds);
    const wanted = userCode.trim().toUpperCase();
    const grant = [...this.#grants.values()].find((g) => g.userCode === wanted);
    if (!grant) return false;
    grant.awaitingApproval = false;
    grant.pendingPolls = 0;
    return true;
  }

  #purge(nowSeconds: number): void {
    for (const [code, grant] of this.#grants) if (grant.expiresAt <= nowSeconds) this.#grants.delete(code);
  }
}

export class RefreshTokenStore {
  readonly #grants = new Map<string, RefreshTokenGrant>();

  issue(objectId: string, clientId: string, tenantId: string, nowSeconds: number): string {
    const token = opaqueToken(48);
    this.#grants.set(token, { objectId, clientId, tenantId, expiresAt: nowSeconds + REFRESH_TOKEN_LIFETIME_SECONDS });
    return token;
  }

  /** The grant behind a refresh token, if it is known, unexpired and was issued to `clientId`. */
  lookup(token: string, clientId: string, nowSeconds: number): RefreshTokenGrant | undefined {
    const grant = this.#grants.get(token);
    if (!grant || grant.expiresAt <= nowSeconds || grant.clientId.toLowerCase() !== clientId.toLowerCase()) return undefined;
    return grant;
  }
}
