/**
 * Replace a file so that readers see the old bytes or the new bytes, never a torn mix: write a
 * private temp file beside it, fsync, rename over it. `target` must already be the real path
 * (see resolveWriteTarget), or the rename would replace a symlink with a regular file.
 *
 * Temp files never outlive the process: removed when the write fails, and at exit if one is still
 * there; one left by a process that was killed (its pid is in the name) is removed by the next write.
 */
import { randomBytes } from 'node:crypto';
import { unlinkSync } from 'node:fs';
import { lstat, mkdir, open, readdir, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { holderState, thisProcess } from './holder.js';

const pending = new Set<string>();
let exitHookInstalled = false;

function track(temp: string): void {
  pending.add(temp);
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // process.exit() in the middle of a write: nothing async runs any more, so remove synchronously.
  process.once('exit', () => {
    for (const file of pending) {
      try {
        unlinkSync(file);
      } catch {
        // Already gone.
      }
    }
  });
}

function tempPattern(name: string): RegExp {
  const escaped = name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`^\\.${escaped}\\.(\\d+)\\.[0-9a-f]{12}\\.tmp$`);
}

/** Removes temp files of `target` left by a process of this user that is gone. */
export async function removeStaleTemps(target: string): Promise<string[]> {
  const dir = dirname(target);
  const pattern = tempPattern(basename(target));
  const me = thisProcess();
  const removed: string[] = [];
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return removed;
  }
  for (const name of names) {
    const m = pattern.exec(name);
    if (!m) continue;
    const pid = Number(m[1]);
    if (pid === me.pid || holderState({ pid, host: me.host, start: undefined }) !== 'gone') continue;
    const file = join(dir, name);
    try {
      const info = await lstat(file);
      // Only our own user's regular files: never follow or delete what someone else planted.
      if (!info.isFile() || (typeof process.getuid === 'function' && info.uid !== process.getuid())) continue;
      await unlink(file);
      removed.push(file);
    } catch {
      // Raced with another run's clean-up.
    }
  }
  return removed;
}

export async function writeFileAtomic(target: string, data: string | Uint8Array, mode = 0o600): Promise<void> {
  const dir = dirname(target);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await removeStaleTemps(target);
  const temp = join(dir, `.${basename(target)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  const handle = await open(temp, 'wx', 0o600);
  track(temp);
  try {
    try {
      // The kubeconfig holds a private key: 0600 whatever the umask (a restore may give back the user's own mode).
      await handle.chmod(mode);
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, target);
  } catch (err) {
    await unlink(temp).catch(() => undefined);
    throw err;
  } finally {
    pending.delete(temp);
  }
  await syncDirectory(dir);
}

// Persist the rename itself; not every platform can open a directory (Windows cannot).
async function syncDirectory(dir: string): Promise<void> {
  try {
    const handle = await open(dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // Best effort: the data is already safely in place.
  }
}
