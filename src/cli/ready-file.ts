/** `--ready-file`: a file scripts poll for, holding where the proxy listens. */
import { randomBytes } from 'node:crypto';
import { rename, rm, writeFile } from 'node:fs/promises';
import { ArcproxyError } from '../errors/index.js';

/**
 * Atomically (write, then rename) so a script polling for the file never reads half of it. The
 * temporary file has a name nobody can guess and is created exclusively (O_CREAT|O_EXCL): in a
 * shared directory such as /tmp, another local user cannot plant a symlink there to make arcproxy
 * overwrite a file of theirs choosing. The rename replaces a link at `path` itself, never its target.
 */
export async function writeReadyFile(path: string, content: Record<string, unknown>, pid: number): Promise<void> {
  const tmp = `${path}.${randomBytes(8).toString('hex')}.tmp`;
  let created = false;
  try {
    await writeFile(tmp, `${JSON.stringify({ ...content, pid })}\n`, { mode: 0o600, flag: 'wx' });
    created = true;
    await rename(tmp, path);
  } catch (err) {
    if (created) await rm(tmp, { force: true }).catch(() => undefined);
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
