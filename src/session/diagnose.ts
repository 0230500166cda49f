/**
 * `arcproxy diagnose`: start-up's exchanges with Azure, one stage at a time, each measured and
 * written down so a user can paste the report into an issue: sign-in, the connected cluster in
 * ARM, the token the cluster gets, listClusterUserCredential, the relay handshake, and `GET
 * /version` through the tunnel. It is how the assumptions in docs/compatibility.md are checked in
 * the field. It builds on start-up's own pieces (sign-in.ts, arm.ts, the RelayDialer, the proxy's
 * request head and parser), opens no listener and writes no kubeconfig. After the first failing
 * stage the later ones are skipped. No stage records a token, SAS or key: claims, names and
 * expiry times only.
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Duplex } from 'node:stream';
import { armScope, loadCloudProfile } from '../azure/cloud.js';
import { ArcArm, assertClusterReachable, CONNECTED_CLUSTERS_API_VERSION, listSubscriptions, type ClusterRef, type RelayCredential } from '../azure/arm.js';
import { takePopKey } from '../azure/pop/pop-key.js';
import { resolveSubscription } from '../azure/subscription.js';
import { ArcproxyError, ExitCode, errorCodeOf, redactSecrets } from '../errors/index.js';
import { parseSas } from '../relay/sas.js';
import { connectToRelay, hybridConnectionPath, type HandshakeAnswer } from '../relay/sender.js';
import { RelayDialer } from '../tunnel/relay-dialer.js';
import { newRequestTrace, prepareUpstreamRequest } from '../proxy/request-head.js';
import type { ArcAuth, AuthSchemeChoice } from './arc-auth.js';
import { accessTokenClaims, exchangeOnStream, headerLines, shrClaims, type TunnelAnswer } from './diagnose-probes.js';
import type { SessionIo } from './ports.js';
import { clusterAuth, signInCredential } from './sign-in.js';

export interface DiagnoseOptions {
  name: string;
  resourceGroup: string;
  subscription?: string;
  /** Token mode: the service-account token sent to the cluster. */
  token?: string;
  cloud?: string;
  authScheme?: AuthSchemeChoice;
  /** arcproxy's version, for the report. */
  version: string;
}

export type StageId = 'sign-in' | 'cluster' | 'cluster-token' | 'relay-credential' | 'relay' | 'tunnel';

export interface StageReport {
  id: StageId;
  title: string;
  status: 'ok' | 'fail' | 'skipped';
  durationMs?: number;
  /** What the stage saw: names, statuses, times, claims; never a secret. */
  details: Record<string, unknown>;
  error?: { code: string; message: string; exitCode: number };
  /** Why a skipped stage did not run. */
  skippedBecause?: string;
}

export interface Diagnosis {
  arcproxyVersion: string;
  node: string;
  platform: string;
  cloud: string;
  cluster: { name: string; resourceGroup: string; subscription?: string };
  /** Sent as x-ms-correlation-request-id on every call: the id to give Microsoft support. */
  correlationId: string;
  /** Things a stage said that do not fail it (an unknown relayType, a bearer fallback). */
  warnings: string[];
  stages: StageReport[];
  /** 0 when every stage passed, else the exit code of the first failing stage's error. */
  exitCode: number;
}

export interface DiagnoseHooks {
  /** Device-code instructions: the user must see them at once. */
  prompt(message: string): void;
  /** A stage began (a live line on a terminal). */
  stage?(title: string): void;
}

/** How long the relay stage waits for a listener: Azure tells the agent to listen only after listClusterUserCredential. */
const NO_LISTENER_WAIT_MS = 5_000;
const TUNNEL_TIMEOUT_MS = 15_000;
/** What kubectl sends to arcproxy's default port; the proxy passes it on unchanged. */
const PROBE_HOST = '127.0.0.1:47011';

class Stages {
  readonly list: StageReport[] = [];
  #failed: StageReport | undefined;
  readonly #hooks: DiagnoseHooks;

  constructor(hooks: DiagnoseHooks) {
    this.#hooks = hooks;
  }

  get failed(): StageReport | undefined {
    return this.#failed;
  }

  /** Runs `fn` unless an earlier stage failed; an error fails the stage (the details gathered so far stay). */
  async run<T>(id: StageId, title: string, fn: (details: Record<string, unknown>) => Promise<T>): Promise<T | undefined> {
    if (this.#failed) {
      this.list.push({ id, title, status: 'skipped', details: {}, skippedBecause: `"${this.#failed.title}" failed` });
      return undefined;
    }
    this.#hooks.stage?.(title);
    const details: Record<string, unknown> = {};
    const started = performance.now();
    try {
      const value = await fn(details);
      this.list.push({ id, title, status: 'ok', durationMs: elapsedMs(started), details });
      return value;
    } catch (err) {
      const stage: StageReport = { id, title, status: 'fail', durationMs: elapsedMs(started), details, error: describeError(err) };
      this.list.push(stage);
      this.#failed = stage;
      return undefined;
    }
  }
}

/** Milliseconds since `started`, to a tenth. */
const elapsedMs = (started: number): number => Math.round((performance.now() - started) * 10) / 10;

function describeError(err: unknown): { code: string; message: string; exitCode: number } {
  return {
    code: errorCodeOf(err),
    message: redactSecrets(err instanceof Error ? err.message : String(err)),
    exitCode: err instanceof ArcproxyError ? err.exitCode : ExitCode.internal,
  };
}

/** A value an earlier stage produced; run() calls a stage only when every earlier one passed. */
function need<T>(value: T | undefined): T {
  if (value === undefined) throw new ArcproxyError('ARCPROXY_INTERNAL', 'a diagnose stage ran without its input.');
  return value;
}

export async function diagnose(opts: DiagnoseOptions, io: SessionIo, hooks: DiagnoseHooks): Promise<Diagnosis> {
  // The tunnel's timers (a dial's retry wait, ...) never keep a process alive: a proxy has its
  // listener for that. Here nothing else would, and Node would exit in mid-wait.
  const hold = setInterval(() => undefined, 60_000);
  try {
    // Secrets arcproxy was given that need not look like one (a service-account token need not be
    // a JWT): whatever echoed them (an agent's message, a header) has them cut out.
    const given = [opts.token, io.env.AZURE_CLIENT_SECRET, io.env.AZURE_CLIENT_CERTIFICATE_PASSWORD].filter(
      (v): v is string => typeof v === 'string' && v.length >= 8,
    );
    return scrub(await runStages(opts, io, hooks), given);
  } finally {
    clearInterval(hold);
  }
}

async function runStages(opts: DiagnoseOptions, io: SessionIo, hooks: DiagnoseHooks): Promise<Diagnosis> {
  const cloud = loadCloudProfile(opts.cloud ?? io.env.ARCPROXY_CLOUD);
  const correlationId = randomUUID();
  const warnings: string[] = [];
  const stages = new Stages(hooks);
  const credential = signInCredential(
    cloud,
    io,
    { prompt: (m) => hooks.prompt(m), warn: (m) => warnings.push(m) },
    opts.subscription ?? io.env.AZURE_SUBSCRIPTION_ID,
  );
  const method = opts.token ? 'Token' : 'AAD';
  let subscriptionId: string | undefined;

  await stages.run('sign-in', 'Sign-in (Microsoft Entra ID, for ARM)', async (d) => {
    const token = await credential.getToken(armScope(cloud));
    d.source = credential.kind ?? 'unknown';
    d.armToken = accessTokenClaims(token.token);
    subscriptionId = await resolveSubscription({
      flag: opts.subscription,
      env: io.env,
      homeDir: io.homeDir,
      listFromArm: () => listSubscriptions(cloud, credential, correlationId),
    });
    d.subscription = subscriptionId;
  });
  const ref: ClusterRef = { subscriptionId: subscriptionId ?? '', resourceGroup: opts.resourceGroup, name: opts.name };
  const arm = subscriptionId ? new ArcArm(cloud, credential, subscriptionId, { correlationId, warn: (m) => warnings.push(m) }) : undefined;

  const cluster = await stages.run('cluster', 'ARM: GET the connected cluster', async (d) => {
    d.apiVersion = CONNECTED_CLUSTERS_API_VERSION;
    const c = await need(arm).getCluster(ref);
    Object.assign(d, c);
    assertClusterReachable(c, ref);
    return c;
  });

  let arcAuth: ArcAuth | undefined;
  const clusterToken = await stages.run('cluster-token', 'Token for the cluster', async (d) => {
    if (opts.token) {
      d.mode = 'Token: the service-account token from --token or ARCPROXY_TOKEN goes through as it is';
      return `Bearer ${opts.token}`;
    }
    d.mode = 'Entra';
    d.authSchemeChoice = opts.authScheme ?? 'auto';
    arcAuth = await clusterAuth({
      choice: opts.authScheme ?? 'auto',
      credential,
      cloud,
      io,
      clusterArmId: need(cluster).id,
      key: () => takePopKey(),
      warn: (m) => warnings.push(m),
    });
    const value = await arcAuth.getToken();
    d.scheme = arcAuth.scheme;
    if (arcAuth.fallbackReason) {
      d.fallbackReason = arcAuth.fallbackReason;
      warnings.push(`plain bearer tokens: ${arcAuth.fallbackReason}`);
    }
    if (arcAuth.scheme === 'pop') {
      const shr = shrClaims(value);
      d.shr = shr ?? 'not a JWS';
      d.popBound = typeof shr?.accessToken === 'object' && shr.accessToken !== null && (shr.accessToken as { popBound?: unknown }).popBound === true;
    } else {
      const claims = accessTokenClaims(value);
      d.accessToken = claims;
      d.popBound = claims.popBound === true;
    }
    return value;
  });

  const relayCredential = await stages.run('relay-credential', 'ARM: listClusterUserCredential', async (d) => {
    d.authenticationMethod = method;
    const c = await need(arm).listClusterUserCredential(ref, method);
    Object.assign(d, relayCredentialDetails(c, cloud.relaySuffix));
    return c;
  });

  const stream = await stages.run('relay', 'Relay: connect handshake', async (d) => {
    const initial = need(relayCredential);
    const attempts: Record<string, unknown>[] = [];
    d.noListenerWaitMs = NO_LISTENER_WAIT_MS;
    const dialer = new RelayDialer({
      cloud,
      initial,
      renew: () => need(arm).listClusterUserCredential(ref, method),
      keepAlive: false,
      correlationId,
      dialRetry: { noListenerBudgetMs: NO_LISTENER_WAIT_MS },
      listenerWaitMs: NO_LISTENER_WAIT_MS,
      connect: async (o) => {
        let answer: HandshakeAnswer | undefined;
        const started = performance.now();
        const record = (error?: unknown) =>
          attempts.push({
            relayHost: o.relayHost,
            path: `${hybridConnectionPath(o.hybridConnectionName)}?sb-hc-action=connect`,
            ...(answer ? { status: `${answer.status} ${answer.statusMessage}`.trimEnd(), headers: headerLines(answer.rawHeaders) } : {}),
            ms: Math.round(performance.now() - started),
            ...(error !== undefined ? { error: errorCodeOf(error) } : {}),
          });
        try {
          const connection = await connectToRelay({ ...o, onHandshake: (a) => (answer = a) });
          record();
          return connection;
        } catch (err) {
          record(err);
          throw err;
        }
      },
    });
    try {
      const s: Duplex = await dialer.dial();
      if (dialer.credential !== initial) d.renewedCredential = relayCredentialDetails(dialer.credential, cloud.relaySuffix);
      return s;
    } finally {
      dialer.close();
      d.attemptCount = attempts.length;
      // A report to paste: the first two handshakes and the last tell the story.
      d.attempts = attempts.length > 4 ? [...attempts.slice(0, 2), { omitted: attempts.length - 3 }, attempts.at(-1)] : attempts;
    }
  });

  await stages.run('tunnel', 'Through the tunnel: GET /version', async (d) => {
    const path = '/version?timeout=10s';
    const bearer = need(clusterToken);
    const raw = ['Host', PROBE_HOST, 'Accept', 'application/json', 'User-Agent', `arcproxy/${opts.version} (diagnose)`];
    // Token mode: the service-account token passes through, as kubectl's would; Entra mode: the session's token replaces any.
    if (opts.token) raw.push('Authorization', bearer);
    const prepared = prepareUpstreamRequest('GET', path, raw, {
      upgrade: false,
      trace: newRequestTrace(correlationId),
      ...(opts.token ? {} : { bearerToken: bearer }),
    });
    if ('problem' in prepared) throw new ArcproxyError('ARCPROXY_INTERNAL', `the probe request cannot be written: ${prepared.problem}`);
    const head = prepared.head(path, 'close');
    d.request = { line: `GET ${path} HTTP/1.1`, headers: headerLines(headPairs(head)) };
    const answer = await exchangeOnStream(need(stream), head, TUNNEL_TIMEOUT_MS);
    d.response = answer;
    if (answer.statusCode < 200 || answer.statusCode >= 300) throw refusal(answer, arcAuth, Boolean(opts.token));
  });
  arcAuth?.close();

  const failed = stages.failed;
  return {
    arcproxyVersion: opts.version,
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    cloud: cloud.name,
    cluster: { name: opts.name, resourceGroup: opts.resourceGroup, ...(subscriptionId ? { subscription: subscriptionId } : {}) },
    correlationId,
    warnings: warnings.map(redactSecrets),
    stages: stages.list,
    exitCode: failed?.error?.exitCode ?? ExitCode.ok,
  };
}

/** A copy of `value` with each of `secrets` replaced in every string. */
function scrub<T>(value: T, secrets: readonly string[]): T {
  if (secrets.length === 0) return value;
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') return secrets.reduce((text, secret) => text.split(secret).join('[redacted]'), v);
    if (Array.isArray(v)) return v.map(walk);
    if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    return v;
  };
  return walk(value) as T;
}

function relayCredentialDetails(c: RelayCredential, relaySuffix: string): Record<string, unknown> {
  const sas = parseSas(c.token);
  return {
    relay: c.relay,
    relayHost: `${c.relay}.${relaySuffix}`,
    hybridConnectionName: c.hybridConnectionName,
    expirationTime: c.expiresOn.toISOString(),
    expiresInSeconds: Math.round((c.expiresOn.getTime() - Date.now()) / 1000),
    ...(c.relayTid ? { relayTid: c.relayTid } : {}),
    relayType: c.relayType ?? '(none)',
    // The SAS itself is a secret: only what it says about itself.
    sas: sas ? { resource: sas.resource, keyName: sas.keyName, expiresOn: new Date(sas.expiry * 1000).toISOString() } : 'not a SharedAccessSignature',
  };
}

/** The [name, value, ...] list of a request head (for the report; redacted by headerLines). */
function headPairs(head: string): string[] {
  const out: string[] = [];
  for (const line of head.split('\r\n').slice(1)) {
    const colon = line.indexOf(':');
    if (colon > 0) out.push(line.slice(0, colon), line.slice(colon + 1).trim());
  }
  return out;
}

/** The cluster answered, but not 2xx: what it means and what to do. */
function refusal(answer: TunnelAnswer, arcAuth: ArcAuth | undefined, tokenMode: boolean): ArcproxyError {
  const said = `The cluster answered ${answer.statusLine} to GET /version${answer.message ? `: ${answer.message.replace(/[.\s]+$/, '')}` : ''}.`;
  if (answer.statusCode === 401) {
    const why = tokenMode
      ? ' It did not accept the service-account token: check that it is current and belongs to this cluster.'
      : arcAuth?.scheme === 'bearer'
        ? ' arcproxy sent a plain bearer token; Arc clusters enforce proof-of-possession tokens unless their admin turned it off ' +
          '(kubeAADProxy.enforcePoP): use --auth-scheme pop with a service principal, workload identity or az login.'
        : " It refused arcproxy's proof-of-possession token: please report it to arcproxy's maintainers with this report.";
    return new ArcproxyError('ARCPROXY_CLUSTER_UNAUTHORIZED', said + why);
  }
  if (answer.statusCode === 403) {
    return new ArcproxyError(
      'ARCPROXY_CLUSTER_FORBIDDEN',
      `${said} The identity reached the cluster but Kubernetes RBAC does not let it read /version; bind it a role in the cluster.`,
    );
  }
  return new ArcproxyError('ARCPROXY_CLUSTER_REQUEST_FAILED', `${said} The tunnel works; the agent or the apiserver behind it did not serve the request.`);
}
