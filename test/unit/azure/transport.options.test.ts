import { describe, expect, it } from 'vitest';
import { BUILTIN_CLOUDS } from '../../../src/azure/cloud.js';
import type { CloudProfile } from '../../../src/net/cloud-profile.js';
import { armClientOptions, azureClientOptions, closeCloudTransport, credentialOptions, type AdditionalPolicyConfig } from '../../../src/azure/transport.js';
import { CloudAgent } from '../../../src/net/endpoints.js';

const emulatorCloud = (): CloudProfile => ({
  name: 'emulator',
  resourceManagerEndpoint: 'https://management.emulator.test',
  resourceManagerAudience: 'https://management.core.windows.net/',
  authorityHost: 'https://login.emulator.test',
  relaySuffix: 'servicebus.emulator.test',
  hostMap: { '*.emulator.test': '127.0.0.1:1' },
  ca: '-----BEGIN CERTIFICATE-----\nnot used here\n-----END CERTIFICATE-----\n',
  disableInstanceDiscovery: true,
});

/** Runs the policy on a minimal request and returns the agent it chose. */
async function agentChosenBy(config: AdditionalPolicyConfig, preset?: unknown): Promise<unknown> {
  const request = { agent: preset } as Parameters<AdditionalPolicyConfig['policy']['sendRequest']>[0];
  let seen: unknown;
  await config.policy.sendRequest(request, async (r) => {
    seen = r.agent;
    return { request: r, status: 200, headers: {} } as unknown as Awaited<ReturnType<AdditionalPolicyConfig['policy']['sendRequest']>>;
  });
  return seen;
}

describe('transport options', () => {
  it.each(Object.values(BUILTIN_CLOUDS))('leave the SDK defaults alone for $name', (cloud) => {
    expect(azureClientOptions(cloud)).toEqual({});
    expect(credentialOptions(cloud)).toEqual({ authorityHost: cloud.authorityHost });
    expect(armClientOptions(cloud)).toEqual({
      endpoint: cloud.resourceManagerEndpoint,
      credentialScopes: [`${cloud.resourceManagerAudience.replace(/\/$/, '')}/.default`],
    });
  });

  it('give a profile with CA and host map one shared CloudAgent, per call', async () => {
    const cloud = emulatorCloud();
    try {
      const cred = credentialOptions(cloud);
      const arm = armClientOptions(cloud);
      expect(cred).toMatchObject({ authorityHost: 'https://login.emulator.test', disableInstanceDiscovery: true });
      expect(arm).toMatchObject({
        endpoint: 'https://management.emulator.test',
        credentialScopes: ['https://management.core.windows.net/.default'],
      });
      expect(cred.additionalPolicies).toHaveLength(1);
      expect(cred.additionalPolicies![0]!.position).toBe('perCall');
      const a = await agentChosenBy(cred.additionalPolicies![0]!);
      const b = await agentChosenBy(arm.additionalPolicies![0]!);
      expect(a).toBeInstanceOf(CloudAgent);
      expect(b).toBe(a);
    } finally {
      closeCloudTransport(cloud);
    }
  });

  it('keep an agent that something earlier in the pipeline set', async () => {
    const cloud = emulatorCloud();
    const preset = { marker: true };
    expect(await agentChosenBy(azureClientOptions(cloud).additionalPolicies![0]!, preset)).toBe(preset);
  });

  it('a CA alone (no host map) is enough to need the agent', () => {
    const cloud = { ...BUILTIN_CLOUDS.AzureCloud!, ca: 'pem' };
    expect(azureClientOptions(cloud).additionalPolicies).toHaveLength(1);
  });
});
