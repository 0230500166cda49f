/** Cloud profile files: every field is checked at load (exit 2, naming the field), before any file is written or request sent. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUILTIN_CLOUDS, loadCloudProfile } from '../../../src/azure/cloud.js';
import { assertClusterNames } from '../../../src/azure/arm.js';
import { UsageError } from '../../../src/errors/index.js';
import { createCertificateAuthority } from '../../../src/pki/certs.js';

let dir: string;
let caPem: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'arcproxy-cloud-'));
  caPem = (await createCertificateAuthority('cloud-test-ca')).cert;
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const good = () => ({
  name: 'test',
  resourceManagerEndpoint: 'https://arm.test:8443/',
  resourceManagerAudience: 'https://management.core.windows.net/',
  authorityHost: 'https://login.test',
  relaySuffix: 'servicebus.test',
  hostMap: { '*.servicebus.test': '127.0.0.1:9443', 'arm.test': '[::1]:8443', 'login.test': '127.0.0.2' },
  ca: caPem,
  disableInstanceDiscovery: true,
});

let n = 0;
async function load(profile: Record<string, unknown>) {
  const file = join(dir, `profile-${n++}.json`);
  await writeFile(file, JSON.stringify(profile));
  return loadCloudProfile(file);
}

async function refused(profile: Record<string, unknown>): Promise<string> {
  const err = await load(profile).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(UsageError);
  expect(err).toMatchObject({ code: 'ARCPROXY_BAD_CLOUD_PROFILE', exitCode: 2 });
  return (err as Error).message;
}

describe('loadCloudProfile', () => {
  it('loads a complete profile (trailing slashes off the endpoints) and the built-in clouds by name', async () => {
    const profile = await load(good());
    expect(profile).toMatchObject({ name: 'test', resourceManagerEndpoint: 'https://arm.test:8443', authorityHost: 'https://login.test', ca: caPem });
    expect(loadCloudProfile('azureusgovernment')).toBe(BUILTIN_CLOUDS.AzureUSGovernment);
  });

  it('refuses a ca that is not PEM certificates, naming the field', async () => {
    expect(await refused({ ...good(), ca: 'not a certificate' })).toMatch(/"ca" holds no PEM certificate/);
    expect(await refused({ ...good(), ca: '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n' })).toMatch(
      /"ca" holds a PEM certificate that cannot be parsed/,
    );
    expect(await refused({ ...good(), ca: 42 })).toMatch(/"ca" must be a string/);
  });

  it('refuses http:// and non-URL endpoints, naming the field', async () => {
    expect(await refused({ ...good(), authorityHost: 'http://login.test' })).toMatch(/"authorityHost" must be an https:\/\/ URL/);
    expect(await refused({ ...good(), resourceManagerEndpoint: 'http://arm.test' })).toMatch(/"resourceManagerEndpoint" must be an https:\/\/ URL/);
    expect(await refused({ ...good(), resourceManagerEndpoint: 'arm.test' })).toMatch(/"resourceManagerEndpoint" is not a URL/);
    expect(await refused({ ...good(), authorityHost: 'https://user:pw@login.test' })).toMatch(/"authorityHost" must be a plain https:\/\/ URL/);
  });

  it('refuses a relay suffix, host map or flag of the wrong shape', async () => {
    expect(await refused({ ...good(), relaySuffix: 'https://servicebus.test' })).toMatch(/"relaySuffix" must be a DNS name/);
    expect(await refused({ ...good(), hostMap: { 'arm.test': '127.0.0.1:99999' } })).toMatch(/"hostMap.arm.test" must be "address:port"/);
    expect(await refused({ ...good(), hostMap: { 'arm.test': 'https://127.0.0.1:8443' } })).toMatch(/"hostMap.arm.test"/);
    expect(await refused({ ...good(), hostMap: { 'arm test': '127.0.0.1:1' } })).toMatch(/"hostMap.arm test" is not a host name/);
    expect(await refused({ ...good(), hostMap: ['x'] })).toMatch(/"hostMap" must map/);
    expect(await refused({ ...good(), disableInstanceDiscovery: 'yes' })).toMatch(/"disableInstanceDiscovery" must be true or false/);
    expect(await refused({ ...good(), relaySuffix: undefined })).toMatch(/missing "relaySuffix"/);
  });
});

describe('assertClusterNames', () => {
  const refusedName = (name: string, resourceGroup = 'demo-rg') => {
    try {
      assertClusterNames({ name, resourceGroup });
    } catch (err) {
      expect(err).toMatchObject({ code: 'ARCPROXY_BAD_INPUT', exitCode: 2 });
      return (err as Error).message;
    }
    throw new Error(`expected ${name}/${resourceGroup} to be refused`);
  };

  it('refuses cluster names that would change the ARM URL, naming the flag', () => {
    for (const name of ['.', '..', 'a/b', 'a\\b', 'a?b', 'a#b', 'a%2e', '', ' demo']) expect(refusedName(name)).toMatch(/^--name\/-n /);
  });

  it('refuses resource groups outside ARM rules, naming the flag', () => {
    for (const group of ['..', 'rg.', 'a/b', '', 'x'.repeat(91)]) expect(refusedName('demo', group)).toMatch(/^--resource-group\/-g /);
  });

  it('accepts the names ARM takes', () => {
    for (const [name, group] of [
      ['demo', 'demo-rg'],
      ['my.cluster_1', 'rg(1).x_y'],
      ['Ünïcode', 'Grüppe'],
    ])
      expect(() => assertClusterNames({ name: name!, resourceGroup: group! })).not.toThrow();
  });
});
