/**
 * Writes a file that holds secrets (the emulator's env file) or that scripts trust (the ready
 * file): whole or not at all, owner-only, and never through something already at the path. The
 * content goes to a new file with an unguessable name, created exclusively (O_CREAT|O_EXCL, so a
 * planted symlink is never followed), then renamed over the path: a file or link another user
 * left there is replaced, not written into, and in a sticky directory such as /tmp the rename of
 * another user's file fails instead.
 */
import { randomBytes } from 'node:crypto';
import { rename, rm, writeFile } from 'node:fs/promises';

export async function writePrivateFile(path: string, content: string): Promise<void> {
  const tmp = `${path}.${randomBytes(8).toString('hex')}.tmp`;
  let created = false;
  try {
    await writeFile(tmp, content, { mode: 0o600, flag: 'wx' });
    created = true;
    await rename(tmp, path);
  } catch (err) {
    if (created) await rm(tmp, { force: true }).catch(() => undefined);
    throw err;
  }
}
