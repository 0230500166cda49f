import { describe, expect, it } from 'vitest';
import { ArcproxyCredential, credentialPlan, isInteractive } from '../../../src/azure/credentials.js';
import { BUILTIN_CLOUDS } from '../../../src/azure/cloud.js';
import { ExitCode } from '../../../src/errors/index.js';

const azure = BUILTIN_CLOUDS.AzureCloud!;
const sp = { AZURE_TENANT_ID: 't', AZURE_CLIENT_ID: 'c' };

describe('credential chain order', () => {
  it('puts the environment service principal first, then workload identity, the Azure CLI and device code', () => {
    expect(credentialPlan({ ...sp, AZURE_CLIENT_SECRET: 's', AZURE_FEDERATED_TOKEN_FILE: '/f' })).toEqual([
      'environment-secret',
      'workload-identity',
      'azure-cli',
      'device-code',
    ]);
  });
  it('uses a certificate when one is configured', () => {
    expect(credentialPlan({ ...sp, AZURE_CLIENT_CERTIFICATE_PATH: '/c.pem' })).toEqual(['environment-certificate', 'azure-cli', 'device-code']);
  });
  it('offers managed identity only where the host advertises one (or on request)', () => {
    expect(credentialPlan({})).toEqual(['azure-cli', 'device-code']);
    expect(credentialPlan({ IDENTITY_ENDPOINT: 'http://localhost:40342' })).toEqual(['managed-identity', 'azure-cli', 'device-code']);
    expect(credentialPlan({ ARCPROXY_MANAGED_IDENTITY: '1' })).toEqual(['managed-identity', 'azure-cli', 'device-code']);
  });
  it('is interactive only with a terminal on both ends and outside CI', () => {
    expect(isInteractive({ CI: 'true' }, true, true)).toBe(false);
    expect(isInteractive({}, false, true)).toBe(false);
    expect(isInteractive({}, true, true)).toBe(true);
  });
  it('fails with a how-to-sign-in message when nothing is available, without prompting', async () => {
    const prompts: string[] = [];
    const cred = new ArcproxyCredential({ env: { CI: 'true' }, interactive: false, cloud: { ...azure, name: 'Custom' }, prompt: (m) => prompts.push(m) });
    const err = await cred.getToken('https://management.core.windows.net/.default').catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ARCPROXY_NO_CREDENTIAL', exitCode: ExitCode.authFailed });
    expect((err as Error).message).toContain('az login');
    expect((err as Error).message).toContain('AZURE_CLIENT_SECRET');
    expect(prompts).toEqual([]);
  });
});

describe('whether signing in loads @azure/identity', () => {
  const ctx = (env: NodeJS.ProcessEnv) => new ArcproxyCredential({ env, interactive: false, cloud: azure, prompt: () => undefined });
  it('not for a client secret: it is signed in without the SDK, and its failure ends the chain', () => {
    expect(ctx({ ...sp, AZURE_CLIENT_SECRET: 's', AZURE_FEDERATED_TOKEN_FILE: '/f' }).needsIdentitySdk).toBe(false);
  });
  it('for every other first source', () => {
    expect(ctx({ ...sp, AZURE_CLIENT_CERTIFICATE_PATH: '/c.pem' }).needsIdentitySdk).toBe(true);
    expect(ctx({ ...sp, AZURE_FEDERATED_TOKEN_FILE: '/f' }).needsIdentitySdk).toBe(true);
    expect(ctx({}).needsIdentitySdk).toBe(true);
  });
});
