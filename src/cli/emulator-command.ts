/** `arcproxy emulator`: start the emulator, announce it, write the env file, stop on a signal. */
import type { CliIo } from './io.js';
import { ExitCode, UsageError } from '../errors/index.js';
import { writePrivateFile } from './private-file.js';
import { defaultSeed, loadSeedFile } from '../emulator/seed.js';
import { renderEnvFile, startEmulator } from '../emulator/index.js';

export interface EmulatorFlags {
  port?: number;
  seed?: string;
  writeEnv?: string;
  stateDir?: string;
  /** One line per request at the apiserver and the agent, on stderr. */
  log?: boolean;
}

export async function runEmulatorCommand(flags: EmulatorFlags, io: CliIo): Promise<number> {
  const seed = flags.seed ? loadSeedFile(flags.seed) : defaultSeed();
  const emulator = await startEmulator({
    seed,
    ...(flags.port !== undefined ? { basePort: flags.port } : {}),
    ...(flags.stateDir ? { stateDir: flags.stateDir } : {}),
    ...(flags.log ? { requestLog: (line: string) => void io.stderr.write(line) } : {}),
  });
  const stop = new Promise<NodeJS.Signals>((resolve) => {
    for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) io.signals.once(sig, () => resolve(sig));
  });
  try {
    if (flags.writeEnv) await writeEnvFile(flags.writeEnv, renderEnvFile(emulator.env));
    const out = io.stdout;
    out.write(`Entra ID:  ${emulator.cloud.authorityHost}\n`);
    out.write(`ARM:       ${emulator.cloud.resourceManagerEndpoint}\n`);
    out.write(`Relay:     *.${emulator.cloud.relaySuffix} -> ${Object.values(emulator.cloud.hostMap ?? {})[0]}\n`);
    for (const c of emulator.clusters) out.write(`Cluster:   ${c.resourceGroup}/${c.name} (apiserver ${c.apiserver.url})\n`);
    out.write(`Cloud profile: ${emulator.cloudFile}\n`);
    if (flags.writeEnv) out.write(`Environment: ${flags.writeEnv} (source it: . ${flags.writeEnv})\n`);
    out.write('arcproxy emulator ready\n');
    await stop;
  } finally {
    await emulator.close();
  }
  io.stdout.write('arcproxy emulator stopped\n');
  return ExitCode.ok;
}

/** The env file holds client secrets and the admin key: owner-only, and never written into a file someone else left there. */
async function writeEnvFile(path: string, content: string): Promise<void> {
  try {
    await writePrivateFile(path, content);
  } catch (err) {
    throw new UsageError(
      `Could not write the env file ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'}): its directory must exist and be writable, ` +
        'and a file there that belongs to another user is never reused.',
      'ARCPROXY_BAD_INPUT',
      { cause: err },
    );
  }
}
