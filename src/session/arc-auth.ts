/**
 * How requests authenticate to the cluster in Entra mode. A real Arc cluster's proxy enforces
 * proof of possession by default (kubeAADProxy.enforcePoP; docs/compatibility.md): it wants a
 * signed HTTP request (SHR) around an access token Entra bound to arcproxy's key. So where the
 * sign-in source can get a PoP-bound token, arcproxy sends SHRs; where it cannot (managed identity,
 * an unreadable Azure CLI cache), it sends the plain bearer token and says so at start-up, and
 * again when the cluster answers 401. `--auth-scheme` chooses: auto (the default), pop or bearer.
 */
import type { TokenCredential } from '@azure/identity';
import { ARC_SERVER_SCOPE } from '../azure/cloud.js';
import type { PopKey } from '../azure/pop/pop-key.js';
import type { PopSource } from '../azure/pop/pop-source.js';
import { UsageError } from '../errors/index.js';
import type { UpstreamAuth } from '../proxy/auth.js';
import { EntraTokenSource } from './entra-token.js';
import { ShrSigner } from './shr-signer.js';

export type AuthSchemeChoice = 'auto' | 'pop' | 'bearer';

export interface ArcAuthOptions {
  choice: AuthSchemeChoice;
  /** The credential arcproxy signed in with (plain bearer tokens). */
  bearer: TokenCredential;
  /** The sign-in source's PoP-capable twin, for the key given. */
  popSource: (key: PopKey) => Promise<PopSource>;
  /** The session's PoP key (made while signing in); asked for only when PoP is tried. */
  key: () => Promise<PopKey>;
  /** The connected cluster's ARM id, as ARM returned it: the SHR's `u`. */
  clusterArmId: string;
  onRefresh: (expiresOnMs: number) => void;
  onRefreshError: (err: unknown, retryInMs: number) => void;
}

export interface ArcAuth {
  readonly scheme: 'pop' | 'bearer';
  /** Why bearer was used in auto mode (the source cannot get PoP tokens). */
  readonly fallbackReason?: string;
  getToken(): Promise<string>;
  /** Starts the background refresh (token, and SHRs on their timer). */
  start(): void;
  close(): void;
}

export async function arcServerAuth(opts: ArcAuthOptions): Promise<ArcAuth> {
  const tokenOptions = {
    onRefresh: (t: { expiresOnMs: number }) => opts.onRefresh(t.expiresOnMs),
    onRefreshError: opts.onRefreshError,
  };
  let fallbackReason: string | undefined;
  if (opts.choice !== 'bearer') {
    const key = await opts.key();
    const source = await opts.popSource(key);
    if ('credential' in source) {
      const tokens = new EntraTokenSource(source.credential, ARC_SERVER_SCOPE, {
        ...tokenOptions,
        // A new access token: wrap it at once, so no request has to sign.
        onRefresh: (t) => {
          opts.onRefresh(t.expiresOnMs);
          void shr.refresh().catch(() => undefined);
        },
      });
      const shr = new ShrSigner({ accessToken: () => tokens.getToken(), key, clusterArmId: opts.clusterArmId });
      // The first token and SHR now: a sign-in failure stops start-up, as in bearer mode.
      await shr.getToken();
      return {
        scheme: 'pop',
        getToken: () => shr.getToken(),
        start: () => {
          tokens.start();
          shr.start();
        },
        close: () => {
          tokens.close();
          shr.close();
        },
      };
    }
    if (opts.choice === 'pop') {
      throw new UsageError(
        `--auth-scheme pop: ${source.unavailable} Sign in with a service principal (secret or certificate), workload identity, ` +
          'az login, or a device code, which can, or use --auth-scheme bearer for a cluster that does not enforce PoP.',
        'ARCPROXY_POP_UNAVAILABLE',
      );
    }
    fallbackReason = source.unavailable;
  }
  const tokens = new EntraTokenSource(opts.bearer, ARC_SERVER_SCOPE, tokenOptions);
  await tokens.getToken();
  return {
    scheme: 'bearer',
    ...(fallbackReason !== undefined ? { fallbackReason } : {}),
    getToken: () => tokens.getToken(),
    start: () => tokens.start(),
    close: () => tokens.close(),
  };
}

/**
 * The proxy's view: Entra mode from the start (so requests that come early wait), answered by
 * the ArcAuth once start-up has decided which it is.
 */
export class DeferredUpstreamAuth {
  #getToken: () => Promise<string>;
  readonly #ready: Promise<ArcAuth>;
  #resolve!: (auth: ArcAuth) => void;
  #reject!: (err: unknown) => void;

  constructor() {
    this.#ready = new Promise((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    this.#ready.catch(() => undefined);
    this.#getToken = () => this.#ready.then((a) => a.getToken());
  }

  readonly upstream: UpstreamAuth = { kind: 'entra', getToken: () => this.#getToken() };

  set(auth: ArcAuth): void {
    this.#getToken = () => auth.getToken();
    this.#resolve(auth);
  }

  fail(err: unknown): void {
    this.#reject(err);
  }
}
