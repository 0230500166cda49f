/** Starts an Entra and an ARM emulator over one test CA, and fetches tokens for seed principals. */
import { createArmEmulator, type ArmEmulator } from '../../../../src/emulator/arm/index.js';
import { createEntraEmulator, type EntraEmulator } from '../../../../src/emulator/entra/index.js';
import { RelayDirectory } from '../../../../src/emulator/relay-directory.js';
import { findPrincipal, type Seed } from '../../../../src/emulator/seed.js';
import { form, httpsRequest, makeTestTls } from '../entra/tls-fixture.js';

export const ARM_AUDIENCE = 'https://management.core.windows.net/';

export interface ArmWorld {
  ca: string;
  entra: EntraEmulator;
  arm: ArmEmulator;
  relays: RelayDirectory;
  close(): Promise<void>;
  /** An access token for a seeded service principal, for `scope` (default: ARM). */
  tokenFor(principalName: string, scope?: string): Promise<string>;
}

export async function startArmWorld(seed: Seed, now?: () => number): Promise<ArmWorld> {
  const tls = await makeTestTls();
  const entra = await createEntraEmulator({ seed, tls: tls.server, ...(now ? { now } : {}) });
  const relays = new RelayDirectory('servicebus.emulator.test');
  let arm: ArmEmulator;
  try {
    arm = await createArmEmulator({ seed, tls: tls.server, entra, relays, audience: ARM_AUDIENCE, ...(now ? { now } : {}) });
  } catch (err) {
    await entra.close();
    throw err;
  }
  return {
    ca: tls.ca,
    entra,
    arm,
    relays,
    async close() {
      await Promise.all([arm.close(), entra.close()]);
    },
    async tokenFor(principalName, scope = `${ARM_AUDIENCE}.default`) {
      const p = findPrincipal(seed, principalName);
      const res = await httpsRequest(
        `${entra.url}/${seed.tenantId}/oauth2/v2.0/token`,
        tls.ca,
        form({ grant_type: 'client_credentials', client_id: p.clientId!, client_secret: p.clientSecret!, scope }),
      );
      if (res.status !== 200) throw new Error(`token request for ${principalName} failed: ${res.status}`);
      return res.body.access_token as string;
    },
  };
}
