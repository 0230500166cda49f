/**
 * Signing in, as start-up and `arcproxy diagnose` both do it: the credential chain for ARM, and
 * the cluster's own authentication in Entra mode (a PoP SHR or a plain bearer token), built from
 * the same sign-in source. One place, so the field check exercises what a session would.
 */
import type { AccessToken, GetTokenOptions, TokenCredential } from '@azure/identity';
import { ArcproxyCredential, isInteractive } from '../azure/credentials.js';
import type { PopKey } from '../azure/pop/pop-key.js';
import { popSourceFor } from '../azure/pop/pop-source.js';
import type { CloudProfile } from '../net/cloud-profile.js';
import { arcServerAuth, type ArcAuth, type AuthSchemeChoice } from './arc-auth.js';
import type { SessionIo } from './ports.js';

/** Where the sign-in chain talks to the user: device-code instructions, and what does not stop it. */
export interface SignInReport {
  prompt: (message: string) => void;
  warn: (message: string) => void;
}

/**
 * The sign-in chain (service principal, workload identity, ..., device code on a terminal);
 * `subscription` (as asked for) picks which of az's logins to use.
 */
export function signInCredential(cloud: CloudProfile, io: SessionIo, report: SignInReport, subscription: string | undefined): ArcproxyCredential {
  return new ArcproxyCredential({
    env: io.env,
    interactive: isInteractive(io.env, io.stdinIsTty, io.stderrIsTty),
    cloud,
    prompt: report.prompt,
    warn: report.warn,
    homeDir: io.homeDir,
    subscription,
  });
}

export interface ClusterAuthOptions {
  choice: AuthSchemeChoice;
  /** Signed in already: its kind decides where PoP tokens come from. */
  credential: ArcproxyCredential;
  cloud: CloudProfile;
  io: SessionIo;
  /** The connected cluster's ARM id, as ARM returned it. */
  clusterArmId: string;
  key: () => Promise<PopKey>;
  onRefresh?: (expiresOnMs: number) => void;
  onRefreshError?: (err: unknown, retryInMs: number) => void;
  /** Told when Entra asks for a wait before the next token request. */
  warn?: (message: string) => void;
}

/** Entra mode's authentication to the cluster, from the credential the session signed in with. */
export function clusterAuth(opts: ClusterAuthOptions): Promise<ArcAuth> {
  const { credential, io, cloud } = opts;
  return arcServerAuth({
    choice: opts.choice,
    bearer: credential,
    popSource: (key) => popSourceFor(credential.kind, { env: io.env, cloud, userSignIn: credential.userSignIn, onThrottled: opts.warn }, key),
    key: opts.key,
    clusterArmId: opts.clusterArmId,
    onRefresh: opts.onRefresh ?? (() => undefined),
    onRefreshError: opts.onRefreshError ?? (() => undefined),
  });
}

/**
 * `credential`, except that its first token for `scope` is `first`: a request already on its way
 * when the caller (ARM's pipeline) was being built. Later tokens, other scopes and claims
 * challenges go to `credential`. `first`'s failure is the first caller's, as if it had asked.
 */
export function withTokenOnItsWay(credential: TokenCredential, scope: string, first: Promise<AccessToken>): TokenCredential {
  first.catch(() => undefined); // awaited by the first caller, unless start-up stops before
  let pending: Promise<AccessToken> | undefined = first;
  return {
    getToken(scopes: string | string[], options?: GetTokenOptions) {
      const asked = Array.isArray(scopes) ? scopes.join(' ') : scopes;
      if (pending && asked === scope && !options?.claims) {
        const token = pending;
        pending = undefined;
        return token;
      }
      return credential.getToken(scopes, options);
    },
  };
}
