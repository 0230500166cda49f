/** Starts the emulator in process, so tests can pull its fault hooks directly. */
import { startEmulator, type Emulator } from '../../src/emulator/index.js';
import { defaultSeed } from '../../src/emulator/seed.js';

export async function startTestEmulator(): Promise<Emulator> {
  return startEmulator({ seed: defaultSeed() });
}

/** The environment arcproxy gets: the emulator's variables, an isolated HOME and kubeconfig. */
export function arcproxyEnv(emulator: Emulator, home: string, extra: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  return { ...emulator.env, HOME: home, KUBECONFIG: `${home}/.kube/config`, ...extra };
}
