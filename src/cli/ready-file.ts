/** `--ready-file`: a file scripts poll for, holding where the proxy listens. */
import { rename, rm, writeFile } from 'node:fs/promises';
import { ArcproxyError } from '../errors/index.js';

/** Atomically (write, then rename) so a script polling for the file never reads half of it. */
export async function writeReadyFile(path: string, content: Record<string, unknown>, pid: number): Promise<void> {
  const tmp = `${path}.${pid}.tmp`;
  try {
    await writeFile(tmp, `${JSON.stringify({ ...content, pid })}\n`, { mode: 0o600 });
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true }).catch(() => undefined);
    throw new ArcproxyError(
      'ARCPROXY_READY_FILE',
      `Could not write the ready file ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'}): check that its directory exists and is writable.`,
      { cause: err },
    );
  }
}

export async function removeReadyFile(path: string): Promise<void> {
  await rm(path, { force: true });
}
