/**
 * Entra mode against clusters that enforce proof of possession, as real Arc clusters do by
 * default: every sign-in source that can get PoP tokens reaches the cluster through real kubectl,
 * a plain bearer token is refused with an explanation, and a cluster that does not enforce PoP
 * takes the bearer fallback.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Emulator } from '../../src/emulator/index.js';
import { startEmulator } from '../../src/emulator/index.js';
import { defaultSeed, findPrincipal, type Seed } from '../../src/emulator/seed.js';
import { makeRsaCertificate, type TestCertificate } from '../unit/emulator/entra/cert-fixture.js';
import { arcproxyEnv } from '../helpers/emulator.js';
import { runArcproxy, tempHome } from '../helpers/arcproxy.js';
import { availableKubectls } from '../helpers/kubectl.js';

const kubectl = availableKubectls()[0];
const homes: Array<{ cleanup: () => Promise<void> }> = [];
let certificate: TestCertificate;
let enforcing: Emulator;
let lenient: Emulator;

/** The built-in seed with a certificate for `ci`, and demo's enforcePoP as given (left out: the default). */
function seedWith(enforcePoP: boolean | undefined): Seed {
  const seed = defaultSeed();
  findPrincipal(seed, 'ci').clientCertificate = certificate.certPem;
  if (enforcePoP !== undefined) for (const c of seed.resourceGroups.flatMap((rg) => rg.clusters)) c.enforcePoP = enforcePoP;
  return seed;
}

beforeAll(async () => {
  certificate = await makeRsaCertificate('arcproxy e2e ci');
  [enforcing, lenient] = await Promise.all([startEmulator({ seed: seedWith(undefined) }), startEmulator({ seed: seedWith(false) })]);
}, 60_000);
afterAll(async () => {
  await Promise.all([enforcing?.close(), lenient?.close()]);
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

/** `arcproxy -o json [extra] -- kubectl get pods -o name` in run mode. */
function getPods(emulator: Emulator, env: Record<string, string | undefined>, extra: string[] = []) {
  return runArcproxy(['-n', 'demo', '-g', 'demo-rg', '--port', '0', '-o', 'json', ...extra, '--', kubectl!.path, 'get', 'pods', '-o', 'name'], env, 60_000);
}

describe.runIf(kubectl)('PoP against a cluster that enforces it (the default)', () => {
  it('a service principal with a secret gets PoP tokens', async () => {
    const r = await getPods(enforcing, arcproxyEnv(enforcing, await home()));
    expect(r.stdout).toContain('pod/hello-0');
    expect(jsonEvents(r.stderr).find((e) => e.event === 'authScheme')).toMatchObject({ scheme: 'pop', source: 'environment-secret' });
    expect(r.code).toBe(0);
  });

  it('a service principal with a certificate gets PoP tokens', async () => {
    const dir = await home();
    const pem = join(dir, 'ci.pem');
    await writeFile(pem, `${certificate.certPem}\n${certificate.keyPem}`, { mode: 0o600 });
    const r = await getPods(enforcing, arcproxyEnv(enforcing, dir, { AZURE_CLIENT_SECRET: undefined, AZURE_CLIENT_CERTIFICATE_PATH: pem }));
    expect(r.stdout).toContain('pod/hello-0');
    expect(jsonEvents(r.stderr).find((e) => e.event === 'authScheme')).toMatchObject({ scheme: 'pop', source: 'environment-certificate' });
    expect(r.code).toBe(0);
  });

  it('a certificate file without its private key is named as such, exit 2, before any sign-in', async () => {
    const dir = await home();
    const pem = join(dir, 'cert-only.pem');
    await writeFile(pem, certificate.certPem, { mode: 0o600 });
    for (const scheme of ['auto', 'bearer']) {
      const r = await getPods(enforcing, arcproxyEnv(enforcing, dir, { AZURE_CLIENT_SECRET: undefined, AZURE_CLIENT_CERTIFICATE_PATH: pem }), [
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

  it('workload identity (a federated token file) gets PoP tokens', async () => {
    const dir = await home();
    const tokenFile = join(dir, 'federated-token');
    await writeFile(tokenFile, await enforcing.mintFederatedToken(findPrincipal(enforcing.seed, 'ci').clientId!));
    const r = await getPods(enforcing, arcproxyEnv(enforcing, dir, { AZURE_CLIENT_SECRET: undefined, AZURE_FEDERATED_TOKEN_FILE: tokenFile }));
    expect(r.stdout).toContain('pod/hello-0');
    expect(jsonEvents(r.stderr).find((e) => e.event === 'authScheme')).toMatchObject({ scheme: 'pop', source: 'workload-identity' });
    expect(r.code).toBe(0);
  });

  it('a plain bearer token is refused, and both arcproxy and kubectl say why', async () => {
    const r = await getPods(enforcing, arcproxyEnv(enforcing, await home()), ['--auth-scheme', 'bearer']);
    expect(r.code).not.toBe(0);
    const warning = jsonEvents(r.stderr).find((e) => e.event === 'warning' && String(e.message).includes('401'));
    expect(warning?.message).toMatch(/refused the plain bearer token \(401\).*enforcePoP/);
    // kubectl prints the cluster's own Status message.
    expect(r.stderr).toMatch(/proof-of-possession/);
  });
});

describe.runIf(kubectl)('bearer fallback against a cluster that does not enforce PoP', () => {
  it('--auth-scheme bearer works', async () => {
    const r = await getPods(lenient, arcproxyEnv(lenient, await home()), ['--auth-scheme', 'bearer']);
    expect(r.stdout).toContain('pod/hello-0');
    expect(jsonEvents(r.stderr).find((e) => e.event === 'authScheme')).toMatchObject({ scheme: 'bearer' });
    expect(r.code).toBe(0);
  });
});
