/** `arcproxy emulator`: start the emulator, announce it, write the env file, stop on a signal. */
import { writeFile } from 'node:fs/promises';
import type { CliIo } from './io.js';
import { ExitCode } from '../errors/index.js';
import { defaultSeed, loadSeedFile } from '../emulator/seed.js';
import { renderEnvFile, startEmulator } from '../emulator/index.js';

export interface EmulatorFlags {
  port?: number;
  seed?: string;
  envFile?: string;
  stateDir?: string;
}

export async function runEmulatorCommand(flags: EmulatorFlags, io: CliIo): Promise<number> {
  const seed = flags.seed ? loadSeedFile(flags.seed) : defaultSeed();
  const emulator = await startEmulator({
    seed,
    ...(flags.port !== undefined ? { basePort: flags.port } : {}),
    ...(flags.stateDir ? { stateDir: flags.stateDir } : {}),
  });
  const stop = new Promise<NodeJS.Signals>((resolve) => {
    for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) io.signals.once(sig, () => resolve(sig));
  });
  try {
    if (flags.envFile) await writeFile(flags.envFile, renderEnvFile(emulator.env), { mode: 0o600 });
    const out = io.stdout;
    out.write(`Entra ID:  ${emulator.cloud.authorityHost}\n`);
    out.write(`ARM:       ${emulator.cloud.resourceManagerEndpoint}\n`);
    out.write(`Relay:     *.${emulator.cloud.relaySuffix} -> ${Object.values(emulator.cloud.hostMap ?? {})[0]}\n`);
    for (const c of emulator.clusters) out.write(`Cluster:   ${c.resourceGroup}/${c.name} (apiserver ${c.apiserver.url})\n`);
    out.write(`Cloud profile: ${emulator.cloudFile}\n`);
    if (flags.envFile) out.write(`Environment: ${flags.envFile} (source it: . ${flags.envFile})\n`);
    out.write('arcproxy emulator ready\n');
    await stop;
  } finally {
    await emulator.close();
  }
  io.stdout.write('arcproxy emulator stopped\n');
  return ExitCode.ok;
}
