// A Send credential for the emulated cluster's hybrid connection, fetched the way arcproxy does
// (service principal from the emulator's env -> ARM listClusterUserCredential, Token mode).
import { loadCloudProfile } from '../../dist/azure/cloud.js';
import { ArcproxyCredential } from '../../dist/azure/credentials.js';
import { ArcArm } from '../../dist/azure/arm.js';

export async function relayCredential(emulator) {
  const cloud = loadCloudProfile(emulator.cloudFile);
  const env = { ...emulator.env };
  const credential = new ArcproxyCredential({ env, interactive: false, cloud, prompt: () => undefined });
  const arm = new ArcArm(cloud, credential, env.AZURE_SUBSCRIPTION_ID);
  const cred = await arm.listClusterUserCredential({ subscriptionId: env.AZURE_SUBSCRIPTION_ID, resourceGroup: 'demo-rg', name: 'demo' }, 'Token');
  return { cred, cloud };
}
