/** One locked read-modify-write of a kubeconfig: the only place that reads or writes the file. */
import { lstat, mkdir, readFile, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { writeFileAtomic } from './atomic-write.js';
import { parseKubeconfig, stringifyKubeconfig, type KubeconfigDocument } from './document.js';
import { ioError, KubeconfigError } from './errors.js';
import { withFileLock } from './lock.js';
import type { Holder } from './holder.js';
import { resolveWriteTarget } from './paths.js';

const DEFAULT_LOCK_TIMEOUT_MS = 10_000;

export interface UpdateOptions {
  lockTimeoutMs?: number | undefined;
  onLockWait?: ((lockFile: string) => void) | undefined;
  /** Stops a wait for the lock at once; nothing has been written then. */
  signal?: AbortSignal | undefined;
  /** Called when a lock left by an arcproxy that is gone was taken over. */
  onStaleLock?: ((notice: string) => void) | undefined;
}

export interface Edit<T> {
  result: T;
  /** False leaves the file untouched (not even rewritten). */
  changed: boolean;
}

/**
 * Locks `file`, parses it (missing or empty counts as an empty kubeconfig when `ifMissing` is
 * not given), applies `edit` and atomically writes the result. Nothing is written when the
 * file is malformed or the edit changes nothing. With `ifMissing`, a missing file is not created.
 */
export async function updateKubeconfigFile<T>(
  file: string,
  edit: (kc: KubeconfigDocument) => Edit<T>,
  opts: UpdateOptions & { ifMissing?: () => T } = {},
): Promise<T> {
  if (opts.ifMissing) {
    // Nothing to edit and nothing to create (not even the directory).
    if (!(await pathExists(file))) return opts.ifMissing();
  } else {
    // The lock lives beside the path as given, where kubectl looks for it.
    try {
      await mkdir(dirname(file), { recursive: true, mode: 0o700 });
    } catch (err) {
      throw ioError(dirname(file), 'create the directory', err);
    }
  }
  await assertWritableRegularFile(file);
  const lockOptions = {
    timeoutMs: opts.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS,
    signal: opts.signal,
    ...(opts.onLockWait ? { onWait: opts.onLockWait } : {}),
    onStale: (lockFile: string, holder: Holder) =>
      opts.onStaleLock?.(`took over ${lockFile}, left by arcproxy process ${holder.pid}, which is no longer running.`),
  };
  return withFileLock(file, lockOptions, async () => {
    let target: string;
    try {
      target = await resolveWriteTarget(file);
    } catch (err) {
      throw ioError(file, 'resolve', err);
    }
    let text: string;
    try {
      text = await readFile(target, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw ioError(file, 'read', err);
      if (opts.ifMissing) return opts.ifMissing();
      text = '';
    }
    const kc = parseKubeconfig(text, file);
    const { result, changed } = edit(kc);
    if (!changed) return result;
    const output = stringifyKubeconfig(kc);
    if (output === text) return result;
    try {
      await writeFileAtomic(target, output);
    } catch (err) {
      if (err instanceof KubeconfigError) throw err;
      throw ioError(file, 'write', err);
    }
    return result;
  });
}

/**
 * Refuses, before the lock is taken or a byte read, a path that is not a regular file (a device
 * such as /dev/null, a FIFO, which would block the read forever, a socket) or that is read-only:
 * kubectl will not write there either, and replacing it would lose what it is. A missing file is
 * fine: it is created.
 */
async function assertWritableRegularFile(file: string): Promise<void> {
  let target: string;
  try {
    target = await resolveWriteTarget(file);
  } catch (err) {
    throw ioError(file, 'resolve', err);
  }
  let info;
  try {
    info = await stat(target);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw ioError(file, 'inspect', err);
  }
  if (!info.isFile()) {
    throw new KubeconfigError(
      'ARCPROXY_KUBECONFIG_IO',
      `${file} is not a regular file (a device, pipe or socket), so arcproxy will not write its kubeconfig there; it was left untouched. ` +
        'Pass --file with a kubeconfig file, or -f - to print the kubeconfig.',
      { file },
    );
  }
  if ((info.mode & 0o222) === 0) {
    throw new KubeconfigError(
      'ARCPROXY_KUBECONFIG_IO',
      `${file} is read-only (mode ${(info.mode & 0o777).toString(8)}), so arcproxy leaves it untouched, as kubectl would. ` +
        'Make it writable, or pass --file with another kubeconfig (or -f - to print it).',
      { file },
    );
  }
}

async function pathExists(file: string): Promise<boolean> {
  try {
    await lstat(file);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw ioError(file, 'inspect', err);
  }
}
