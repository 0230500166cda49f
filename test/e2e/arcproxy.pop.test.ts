/**
 * Entra mode against clusters that enforce proof of possession, as real Arc clusters do by
 * default, for every sign-in source, with the real arcproxy executable and real kubectl: client
 * secret, client certificate, workload identity, device code (one prompt; the next run signs in
 * from arcproxy's token cache without one) and a fixture Azure CLI login all get PoP tokens and
 * serve get, get -w, logs, logs -f, exec and port-forward (WebSocket and SPDY), whoami and can-i; managed identity (the emulator's App Service identity
 * endpoint) cannot, so it works against a cluster that does not enforce PoP and gets the
 * explained 401 from one that does, as does a plain bearer token. One emulator serves it all.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AZURE_CLI_CLIENT_ID } from '../../src/azure/credentials.js';
import { pollDeviceCode, startDeviceCode } from '../../src/azure/pop/token-request.js';
import type { Emulator } from '../../src/emulator/index.js';
import { startEmulator } from '../../src/emulator/index.js';
import { defaultSeed, findPrincipal, type Seed } from '../../src/emulator/seed.js';
import { makeRsaCertificate, type TestCertificate } from '../unit/emulator/entra/cert-fixture.js';
import { arcproxyEnv } from '../helpers/emulator.js';
import { runArcproxy, startArcproxy, tempHome } from '../helpers/arcproxy.js';
import { availableKubectls, echoThrough, runKubectl, spawnKubectl } from '../helpers/kubectl.js';

const kubectl = availableKubectls()[0];
const homes: Array<{ cleanup: () => Promise<void> }> = [];
let certificate: TestCertificate;
let emulator: Emulator;

/** A second cluster like demo that does not enforce PoP (kubeAADProxy.enforcePoP: false). */
const LENIENT = 'demo-bearer';

/** The built-in seed with a certificate for `ci` and a copy of demo that does not enforce PoP. */
function seed(): Seed {
  const s = defaultSeed();
  findPrincipal(s, 'ci').clientCertificate = certificate.certPem;
  const rg = s.resourceGroups.find((r) => r.name === 'demo-rg')!;
  const demo = rg.clusters.find((c) => c.name === 'demo')!;
  rg.clusters.push({ ...structuredClone(demo), name: LENIENT, enforcePoP: false });
  return s;
}

beforeAll(async () => {
  certificate = await makeRsaCertificate('arcproxy e2e ci');
  emulator = await startEmulator({ seed: seed() });
  // Device codes wait for their user, who reads the code arcproxy prints (approveFromPrompt).
  emulator.faults.setDeviceCodeApproval('manual', 1);
}, 60_000);
afterAll(async () => {
  await emulator?.close();
});
afterEach(async () => {
  for (const h of homes.splice(0)) await h.cleanup();
});

async function home(): Promise<string> {
  const h = await tempHome();
  homes.push(h);
  await mkdir(join(h.dir, '.kube'), { recursive: true });
  return h.dir;
}

const jsonEvents = (text: string) =>
  text
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);

/** What a device-code prompt says (Entra's message names the page and the code). */
const PROMPT = /enter the code ([A-Z0-9]+) to authenticate/g;

/** The user at the browser: approves each code arcproxy prints, once, as soon as it is printed. */
function approveFromPrompt(): (stderr: string) => void {
  const approved = new Set<string>();
  return (stderr) => {
    for (const m of stderr.matchAll(PROMPT)) {
      if (approved.has(m[1]!)) continue;
      approved.add(m[1]!);
      expect(emulator.faults.approveDeviceCode(m[1]!)).toBe(true);
    }
  };
}

/** The environment of a source: the emulator's, without its service principal secret unless kept. */
const noSecret = { AZURE_CLIENT_SECRET: undefined };

/** Writes the Azure CLI's files as `az login` leaves them on Linux: its profile and MSAL's token cache (plain JSON, with a BOM). */
async function writeAzLogin(dir: string): Promise<void> {
  const developer = findPrincipal(emulator.seed, 'developer');
  const endpoint = { cloud: emulator.cloud, tenantId: emulator.seed.tenantId };
  // The refresh token az would hold: a device-code sign-in of the Azure CLI's client, as `az login --use-device-code` makes.
  const started = await startDeviceCode(endpoint, AZURE_CLI_CLIENT_ID, 'https://management.core.windows.net//.default');
  emulator.faults.approveDeviceCode(started.userCode);
  const signIn = await pollDeviceCode(endpoint, AZURE_CLI_CLIENT_ID, started.deviceCode, 'https://management.core.windows.net//.default', {
    intervalSec: started.intervalSec,
    expiresInSec: started.expiresInSec,
  });
  const environment = new URL(emulator.cloud.authorityHost).host;
  const homeAccountId = `${signIn.clientInfo!.uid}.${signIn.clientInfo!.utid}`;
  const azure = join(dir, '.azure');
  await mkdir(azure, { recursive: true });
  const profile = {
    installationId: 'e2e',
    subscriptions: [
      {
        id: emulator.seed.subscriptions[0]!.id,
        name: emulator.seed.subscriptions[0]!.name,
        state: 'Enabled',
        user: { name: developer.upn, type: 'user' },
        isDefault: true,
        tenantId: emulator.seed.tenantId,
        environmentName: emulator.cloud.name,
      },
    ],
  };
  const cache = {
    Account: {
      [`${homeAccountId}-${environment}-${emulator.seed.tenantId}`]: {
        home_account_id: homeAccountId,
        environment,
        realm: emulator.seed.tenantId,
        local_account_id: signIn.clientInfo!.uid,
        username: developer.upn,
        authority_type: 'MSSTS',
      },
    },
    RefreshToken: {
      [`${homeAccountId}-${environment}-refreshtoken-1--`]: {
        home_account_id: homeAccountId,
        environment,
        credential_type: 'RefreshToken',
        client_id: AZURE_CLI_CLIENT_ID,
        secret: signIn.refreshToken!,
        family_id: '1',
      },
    },
    AccessToken: {},
    IdToken: {},
    AppMetadata: {},
  };
  await writeFile(join(azure, 'azureProfile.json'), `\uFEFF${JSON.stringify(profile)}`, { mode: 0o600 });
  await writeFile(join(azure, 'msal_token_cache.json'), JSON.stringify(cache), { mode: 0o600 });
}

interface Source {
  name: string;
  /** Whose object id `kubectl auth whoami` shows. */
  principal: 'ci' | 'developer';
  env: (dir: string) => Promise<Record<string, string | undefined>>;
}

const sources: Source[] = [
  { name: 'client secret', principal: 'ci', env: async () => ({}) },
  {
    name: 'client certificate',
    principal: 'ci',
    env: async (dir) => {
      const pem = join(dir, 'ci.pem');
      await writeFile(pem, `${certificate.certPem}\n${certificate.keyPem}`, { mode: 0o600 });
      return { ...noSecret, AZURE_CLIENT_CERTIFICATE_PATH: pem };
    },
  },
  {
    name: 'workload identity',
    principal: 'ci',
    env: async (dir) => {
      const tokenFile = join(dir, 'federated-token');
      await writeFile(tokenFile, await emulator.mintFederatedToken(findPrincipal(emulator.seed, 'ci').clientId!));
      return { ...noSecret, AZURE_FEDERATED_TOKEN_FILE: tokenFile };
    },
  },
  { name: 'device code', principal: 'developer', env: async () => ({ ...noSecret, ARCPROXY_DEVICE_CODE: '1' }) },
  {
    name: 'the Azure CLI login (fixture cache)',
    principal: 'developer',
    env: async (dir) => {
      await writeAzLogin(dir);
      return noSecret;
    },
  },
];

describe.runIf(kubectl)('every PoP-capable sign-in source through a cluster that enforces PoP', () => {
  it.each(sources)('$name: get, get -w, logs, logs -f, exec and port-forward over WebSocket and SPDY, whoami and can-i', async (source) => {
    const dir = await home();
    const env = arcproxyEnv(emulator, dir, await source.env(dir));
    const proxy = await startArcproxy(['-n', 'demo', '-g', 'demo-rg', '--port', '0'], env, 60_000, approveFromPrompt());
    try {
      const kubeconfig = join(dir, '.kube/config');
      const cacheDir = join(dir, 'kcache');
      const kc = (args: string[], extraEnv?: NodeJS.ProcessEnv) => runKubectl(kubectl!, args, { kubeconfig, cacheDir, ...(extraEnv ? { env: extraEnv } : {}) });
      const pods = await kc(['get', 'pods', '-o', 'name']);
      expect(pods.stdout).toContain('pod/hello-0');

      const watch = spawnKubectl(kubectl!, ['get', 'pods', '-w'], { kubeconfig, cacheDir });
      try {
        await watch.waitFor(/hello-2/);
        const created = `watched-${sources.indexOf(source)}`;
        emulator.clusters[0]!.apiserver.createPod('default', created);
        await watch.waitFor(new RegExp(created));
      } finally {
        await watch.kill();
      }

      const logs = await kc(['logs', 'hello-1']);
      expect(logs.stdout).toContain('hello from hello-1: starting');
      const follow = spawnKubectl(kubectl!, ['logs', '-f', 'hello-0'], { kubeconfig, cacheDir });
      try {
        const first = await follow.waitFor(/line (\d+)/);
        await follow.waitFor(new RegExp(`line ${Number(first[1]) + 1}\\b`));
      } finally {
        await follow.kill();
      }

      const exec = await kc(['exec', 'hello-0', '--', 'echo', 'through', 'the', 'relay']);
      expect(exec.stdout).toBe('through the relay\n');
      const spdy = await kc(['exec', 'hello-0', '--', 'echo', 'spdy'], { KUBECTL_REMOTE_COMMAND_WEBSOCKETS: 'false' });
      expect(spdy.stdout).toBe('spdy\n');
      for (const pfEnv of [{}, { KUBECTL_PORT_FORWARD_WEBSOCKETS: 'false' }]) {
        const pf = spawnKubectl(kubectl!, ['port-forward', 'pod/hello-1', ':8080'], { kubeconfig, cacheDir, env: pfEnv });
        try {
          const m = await pf.waitFor(/Forwarding from 127\.0\.0\.1:(\d+) -> 8080/);
          expect(await echoThrough(Number(m[1]), 'ping with PoP\n')).toBe('ping with PoP\n');
        } finally {
          await pf.kill();
        }
      }

      const whoami = await kc(['auth', 'whoami']);
      expect(whoami.stdout).toContain(findPrincipal(emulator.seed, source.principal).objectId);
      expect(whoami.code).toBe(0);
      const canI = await kc(['auth', 'can-i', 'list', 'pods']);
      expect(canI.stdout.trim()).toBe('yes');
      // PoP, not the bearer fallback; and a device code asked exactly once for ARM and the cluster.
      expect(proxy.stderr()).not.toMatch(/plain bearer/);
      expect([...proxy.stderr().matchAll(PROMPT)]).toHaveLength(source.name === 'device code' ? 1 : 0);
    } finally {
      await proxy.stop();
    }
  });

  it('a certificate file without its private key is named as such, exit 2, before any sign-in', async () => {
    const dir = await home();
    const pem = join(dir, 'cert-only.pem');
    await writeFile(pem, certificate.certPem, { mode: 0o600 });
    for (const scheme of ['auto', 'bearer']) {
      const r = await getPods('demo', arcproxyEnv(emulator, dir, { AZURE_CLIENT_SECRET: undefined, AZURE_CLIENT_CERTIFICATE_PATH: pem }), [
        '--auth-scheme',
        scheme,
      ]);
      expect(r.code).toBe(2);
      const error = jsonEvents(r.stderr).find((e) => e.event === 'error');
      expect(error).toMatchObject({ code: 'ARCPROXY_BAD_CLIENT_CERTIFICATE', exitCode: 2 });
      expect(error?.message).toMatch(/contains a certificate but no private key; /);
      expect(r.stderr).not.toMatch(/secretOrPrivateKey/);
    }
  });

  it('device code: the next run signs in from the token cache without asking', async () => {
    const dir = await home();
    const env = arcproxyEnv(emulator, dir, { ...noSecret, ARCPROXY_DEVICE_CODE: '1' });
    const getPods = () =>
      runArcproxy(
        ['-n', 'demo', '-g', 'demo-rg', '--port', '0', '-o', 'json', '--', kubectl!.path, 'get', 'pods', '-o', 'name'],
        env,
        60_000,
        approveFromPrompt(),
      );
    const first = await getPods();
    expect(first.stdout).toContain('pod/hello-0');
    expect([...first.stderr.matchAll(PROMPT)]).toHaveLength(1);
    const second = await getPods();
    expect(second.stdout).toContain('pod/hello-0');
    expect([...second.stderr.matchAll(PROMPT)]).toHaveLength(0);
    expect(jsonEvents(second.stderr).find((e) => e.event === 'authScheme')).toMatchObject({ scheme: 'pop', source: 'device-code' });
    expect(second.code).toBe(0);
  });
});

/** `arcproxy -o json [extra] -- kubectl get pods -o name` in run mode against `cluster`. */
function getPods(cluster: string, env: Record<string, string | undefined>, extra: string[] = []) {
  return runArcproxy(['-n', cluster, '-g', 'demo-rg', '--port', '0', '-o', 'json', ...extra, '--', kubectl!.path, 'get', 'pods', '-o', 'name'], env, 60_000);
}

/** Managed identity through the emulator's App Service identity endpoint. */
const managedIdentity = () => ({
  ...noSecret,
  AZURE_CLIENT_ID: findPrincipal(emulator.seed, 'identity').clientId,
  IDENTITY_ENDPOINT: emulator.env.ARCPROXY_EMULATOR_IDENTITY_ENDPOINT,
  IDENTITY_HEADER: emulator.env.ARCPROXY_EMULATOR_IDENTITY_HEADER,
});

describe.runIf(kubectl)('sources that send plain bearer tokens', () => {
  it('managed identity works against a cluster that does not enforce PoP, and says it sends bearer tokens', async () => {
    const r = await getPods(LENIENT, arcproxyEnv(emulator, await home(), managedIdentity()));
    expect(r.stdout).toContain('pod/hello-0');
    expect(jsonEvents(r.stderr).find((e) => e.event === 'authScheme')).toMatchObject({ scheme: 'bearer', source: 'managed-identity' });
    const warning = jsonEvents(r.stderr).find((e) => e.event === 'warning' && String(e.message).includes('plain bearer'));
    expect(warning?.message).toMatch(/managed identity cannot get proof-of-possession tokens/);
    expect(r.code).toBe(0);
  });

  it.each([
    { name: 'managed identity', env: managedIdentity, extra: [] },
    { name: 'a service principal with --auth-scheme bearer', env: () => ({}), extra: ['--auth-scheme', 'bearer'] },
  ])('$name against a cluster that enforces PoP: the explained 401', async ({ env, extra }) => {
    const r = await getPods('demo', arcproxyEnv(emulator, await home(), env()), extra);
    expect(r.code).not.toBe(0);
    const warning = jsonEvents(r.stderr).find((e) => e.event === 'warning' && String(e.message).includes('refused'));
    expect(warning?.message).toMatch(/refused the plain bearer token \(401\).*enforcePoP/);
    // kubectl prints the cluster's own Status message.
    expect(r.stderr).toMatch(/proof-of-possession/);
  });

  it('a service principal with --auth-scheme bearer works against a cluster that does not enforce PoP', async () => {
    const r = await getPods(LENIENT, arcproxyEnv(emulator, await home()), ['--auth-scheme', 'bearer']);
    expect(r.stdout).toContain('pod/hello-0');
    expect(jsonEvents(r.stderr).find((e) => e.event === 'authScheme')).toMatchObject({ scheme: 'bearer' });
    expect(r.code).toBe(0);
  });
});
