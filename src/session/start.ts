/**
 * One proxy session, in start-up order: cloud profile, credential, the local listener,
 * subscription, the connected cluster (must be reachable), its relay credential, the kubeconfig
 * entry. The listener opens first (a busy port fails before any network call) and the kubeconfig
 * is written last, so a failed start leaves every file as it was. The session's certificates are
 * made meanwhile and awaited only when the relay is first used.
 */
import { armScope, loadCloudProfile } from '../azure/cloud.js';
import { randomUUID } from 'node:crypto';
import type { CloudProfile } from '../net/cloud-profile.js';
import { preloadAzureSdk } from '../azure/sdk.js';
import { resolveSubscription } from '../azure/subscription.js';
import { ArcArm, assertClusterNames, assertClusterReachable, listSubscriptions, type ClusterRef } from '../azure/arm.js';
import { takePopKey } from '../azure/pop/pop-key.js';
import { DeferredUpstreamAuth, type ArcAuth, type AuthSchemeChoice } from './arc-auth.js';
import { clusterAuth, signInCredential, withTokenOnItsWay } from './sign-in.js';
import { composeDialer } from '../tunnel/compose.js';
import { errorCodeOf } from '../errors/index.js';
import { probeCluster } from './cluster-probe.js';
import { sessionNames } from './names.js';
import { createSessionPki } from '../pki/session-pki.js';
// Not '../proxy/index.js': that also exports the main-thread PKI, which loads the certificate library.
import { SHUTDOWN_GRACE_MS, startProxyServer, type ProxyServer } from '../proxy/server.js';
import type { UpstreamAuth } from '../proxy/auth.js';
import type { ProxyKubeconfigEntry } from '../kubeconfig/index.js';
import type { SessionEvents, SessionIo } from './ports.js';

export interface SessionOptions {
  name: string;
  resourceGroup: string;
  subscription?: string;
  token?: string;
  port: number;
  kubeContext?: string;
  cloud?: string;
  debug?: boolean;
  /** Entra mode: proof-of-possession (pop), plain bearer, or PoP where the sign-in source can (auto, the default). */
  authScheme?: AuthSchemeChoice;
  /** How long a new hybrid connection may stay without the agent listening (ms); default the tunnel's 30 s. Tests shorten it. */
  listenerWaitMs?: number;
}

export interface Session {
  readonly port: number;
  readonly cloud: CloudProfile;
  readonly ref: ClusterRef;
  /** The kubeconfig entry for this session (server, CA, client cert, names). */
  readonly entry: ProxyKubeconfigEntry;
  readonly proxy: ProxyServer;
  /**
   * Settles once one relay stream is open in the proxy's pool (true) or could not be opened
   * (false; the tunnel's state was reported). Ready is announced after it, so the first request
   * does not pay for a relay dial. Never rejects.
   */
  readonly relayChecked: Promise<boolean>;
  /**
   * Opens a discovery burst's worth of streams once the relay check passed, so kubectl's first
   * command (a dozen requests at once with a cold cache) pays no relay dials. Called once ready is
   * announced: their handshakes would otherwise delay it. A request that comes first claims one in flight.
   */
  warmUp(): void;
  /** Stops the background timers and the listener; in-flight requests get graceMs (default SHUTDOWN_GRACE_MS). */
  close(graceMs?: number): Promise<void>;
}

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');

const ignore = (): void => undefined;

/**
 * Streams opened at start-up for the first command: kubectl's discovery with a cold cache sends
 * /api and /apis, then every group version at once (a dozen on a small cluster; two requests with
 * aggregated discovery). Unused ones close after the pool's idle timeout (60 s).
 */
const STARTUP_STREAMS = 16;
/**
 * ...dialled this long after ready is announced, not at that instant: their TLS handshakes are
 * ~1.5 ms of CPU each on arcproxy's one thread (more at the relay), and a client that was waiting
 * for ready (a script polling --ready-file, a controller retrying) sends its first request within
 * a few ms, which would queue behind all of them (6x a later request's time in the benchmark).
 * kubectl needs ~50 ms to start before its first request, so its discovery burst still finds them
 * on their way or open (a request that claims one still waiting starts it at once); against a
 * distant relay they land this much later (docs/performance.md).
 */
const STARTUP_STREAMS_AFTER_MS = 25;

export async function startSession(opts: SessionOptions, io: SessionIo, report: SessionEvents): Promise<Session> {
  // Everything that can be checked without the network is checked before anything starts.
  assertClusterNames(opts);
  // A few milliseconds of key generation and signing (src/pki/certs.ts).
  const pkiReady = createSessionPki();
  pkiReady.catch(ignore); // awaited below, unless start-up fails before
  const cloud = loadCloudProfile(opts.cloud ?? io.env.ARCPROXY_CLOUD);
  const credential = signInCredential(
    cloud,
    io,
    { prompt: (m) => report.prompt(m), warn: (m) => report.warn(m) },
    opts.subscription ?? io.env.AZURE_SUBSCRIPTION_ID,
  );

  // Token mode carries the kubeconfig's service-account token; Entra mode injects a token of its
  // own: a PoP SHR or a plain bearer token, decided once signed in (arc-auth.ts). Events carry
  // expiry times and error codes, never a token.
  const entra = opts.token ? undefined : new DeferredUpstreamAuth();
  const authScheme = opts.authScheme ?? 'auto';
  // Made on libuv's thread pool while signing in.
  const popKey = entra && authScheme !== 'bearer' ? takePopKey() : undefined;
  popKey?.catch(ignore);
  let arcAuth: ArcAuth | undefined;
  const auth: UpstreamAuth = entra ? entra.upstream : { kind: 'passthrough' };
  const tunnel = composeDialer({ onStateChange: (state) => report.tunnel(state) });

  const names = sessionNames(opts.name, opts.resourceGroup, opts.kubeContext);
  // One id for the session's ARM calls, relay handshakes and tunnelled requests (x-ms-correlation-request-id).
  const correlationId = randomUUID();
  report.event('tracing', { correlationId });
  report.stage('Opening the local listener');
  // The port opens (or is found busy) now; the certificates may still be in the making, and
  // signing in goes on meanwhile.
  const proxy = await startProxyServer({
    port: opts.port,
    pathPrefix: names.pathPrefix,
    pki: pkiReady,
    dialer: tunnel.dialer,
    auth,
    correlationId,
    ...(opts.debug ? { onRequest: (e) => report.request(e) } : {}),
  });

  // Timers and the spare go first, so nothing new starts while requests drain.
  const stopBackground = (): void => {
    arcAuth?.close();
    tunnel.close();
  };

  try {
    report.stage('Signing in');
    // A client secret signs in without a prompt and without the SDK (secret-credential.ts): ARM's
    // token is asked for now, and the SDK's HTTP pipeline for ARM loads (preloadAzureSdk, on the
    // next turn of the event loop) while Entra answers, instead of before the request.
    const armCredential = credential.needsIdentitySdk ? credential : withTokenOnItsWay(credential, armScope(cloud), credential.getToken(armScope(cloud)));
    preloadAzureSdk({ identity: credential.needsIdentitySdk });
    await new Promise((resolve) => setImmediate(resolve));
    const subscriptionId = await resolveSubscription({
      flag: opts.subscription,
      env: io.env,
      homeDir: io.homeDir,
      listFromArm: () => listSubscriptions(cloud, armCredential, correlationId),
    });
    const ref: ClusterRef = { subscriptionId, resourceGroup: opts.resourceGroup, name: opts.name };
    const arm = new ArcArm(cloud, armCredential, subscriptionId, { correlationId, warn: (message) => report.warn(message) });

    report.stage('Resolving the cluster');
    const method = opts.token ? 'Token' : 'AAD';
    // Both ARM calls at once: they need only the cluster's name, and one ARM round trip (tens to
    // hundreds of ms against Azure) is saved. The credential is used only once the cluster proved
    // reachable, and an error of the cluster's read is the one reported.
    const credentialAsked = arm.listClusterUserCredential(ref, method);
    credentialAsked.catch(ignore);
    const cluster = await arm.getCluster(ref);
    assertClusterReachable(cluster, ref);

    report.stage('Fetching relay credentials');
    const arcAuthReady = entra
      ? clusterAuth({
          choice: authScheme,
          credential,
          cloud,
          io,
          key: () => popKey ?? takePopKey(),
          clusterArmId: cluster.id,
          onRefresh: (expiresOnMs) => report.event('tokenRefreshed', { expiresOn: new Date(expiresOnMs).toISOString() }),
          onRefreshError: (err, retryInMs) => report.event('tokenRefreshFailed', { code: errorCodeOf(err), retryInMs }),
          warn: (message) => report.warn(message),
        })
      : undefined;
    const [relayCredential, readyAuth] = await Promise.all([credentialAsked, arcAuthReady]);
    if (entra && readyAuth) {
      arcAuth = readyAuth;
      entra.set(readyAuth);
      report.event('authScheme', { scheme: readyAuth.scheme, source: credential.kind ?? null });
      if (readyAuth.fallbackReason) {
        report.warn(
          `sending plain bearer tokens to the cluster: ${readyAuth.fallbackReason} A cluster that enforces proof-of-possession ` +
            '(the default) will answer 401; sign in with a service principal, workload identity, az login or a device code to get PoP tokens.',
        );
      }
    }
    const pki = await pkiReady;
    await proxy.secured;
    // From here dials go through; renewing ahead of expiry has begun. Each credential names a new
    // hybrid connection the agent listens on only once Azure has told it: dials wait for that,
    // shown as a stage until ready, as an event after.
    let starting = true;
    tunnel.connect({
      ...(opts.listenerWaitMs !== undefined ? { listenerWaitMs: opts.listenerWaitMs } : {}),
      onListenerWait: (wait) => {
        if (starting) report.stage(`Waiting up to ${Math.ceil(wait.upToMs / 1000)} s for the cluster agent to listen on the new hybrid connection`);
        else report.event('relayListenerWait', { hybridConnectionName: wait.hybridConnectionName, upToMs: wait.upToMs, renewal: wait.renewal });
      },
      cloud,
      initial: relayCredential,
      correlationId,
      renew: () => arm.listClusterUserCredential(ref, method),
      onRenewed: (c) => report.event('relayCredentialRenewed', { expiresOn: c.expiresOn.toISOString() }),
      onRenewError: (err, retryInMs) => report.event('relayCredentialRenewFailed', { code: errorCodeOf(err), retryInMs }),
    });
    arcAuth?.start();
    // One stream into the pool for the first request, then the spare for the next new connection.
    // A failure (agent offline) is reported as the tunnel's state and never fails start-up: the
    // agent may come back, and the next request dials again.
    report.stage('Checking the relay');
    const relayChecked = proxy.prewarm().then(async (ok) => {
      starting = false;
      if (!ok) return false;
      // Through our own listener, as kubectl will come: proves the path and warms it.
      const probe = await probeCluster({ port: proxy.port, pathPrefix: names.pathPrefix, pki, ...(opts.token ? { token: opts.token } : {}) });
      report.clusterCheck(probe);
      if (probe.status === 401 && arcAuth?.scheme === 'bearer') {
        report.warn(
          'the cluster refused the plain bearer token (401). Arc clusters enforce proof-of-possession tokens unless their ' +
            'admin turned it off (kubeAADProxy.enforcePoP); use --auth-scheme pop with a service principal, workload identity, az login or a device code.',
        );
      }
      return probe.status >= 200 && probe.status < 300;
    });
    // Not beside the first stream's dial: its handshakes would share the CPU (ours and the relay's)
    // with the one dial ready waits for. The spare's own refill starts once that stream is open
    // (warm-spare.ts); this one is for a start-up whose check did not get there.
    void relayChecked.then(() => tunnel.fillSpare());

    const entry: ProxyKubeconfigEntry = {
      contextName: names.contextName,
      clusterName: names.clusterName,
      userName: names.userName,
      server: `https://127.0.0.1:${proxy.port}${names.pathPrefix}`,
      certificateAuthorityData: b64(pki.caCert),
      clientCertificateData: b64(pki.client.cert),
      clientKeyData: b64(pki.client.key),
      ...(opts.token ? { token: opts.token } : {}),
    };
    return {
      port: proxy.port,
      cloud,
      ref,
      entry,
      proxy,
      relayChecked,
      warmUp: () => {
        void relayChecked.then((ok) => (ok ? proxy.warmIdle(STARTUP_STREAMS, STARTUP_STREAMS_AFTER_MS) : 0));
      },
      close: (graceMs = SHUTDOWN_GRACE_MS) => {
        stopBackground();
        return proxy.close(graceMs);
      },
    };
  } catch (err) {
    stopBackground();
    tunnel.fail(err);
    entra?.fail(err);
    await proxy.close(0);
    throw err;
  }
}
