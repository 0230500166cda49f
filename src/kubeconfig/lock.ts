/**
 * client-go's kubeconfig lock: the file `<kubeconfig>.lock`, created exclusively next to the path
 * kubectl was given, removed after the write. kubectl fails at once on a held lock; arcproxy waits
 * a little, because several arcproxy sessions may start together. arcproxy writes its pid, host
 * and start time into its lock, so a lock left by an arcproxy that was killed is taken over at once.
 */
import { randomBytes } from 'node:crypto';
import { link, open, readFile, rename, unlink } from 'node:fs/promises';
import { KubeconfigError, ioError } from './errors.js';
import { holderRecord, holderState, parseHolder, type Holder } from './holder.js';

export interface LockOptions {
  timeoutMs: number;
  /** Called once, the first time the lock is found held (a caller may say it is waiting). */
  onWait?: (lockFile: string) => void;
  /** Stops waiting at once (Ctrl+C while another writer holds the lock): rejects with its reason. */
  signal?: AbortSignal | undefined;
  /** Called when a lock left by an arcproxy that is gone was taken over (a caller says so on stderr). */
  onStale?: ((lockFile: string, holder: Holder) => void) | undefined;
}

export function lockFileFor(file: string): string {
  return `${file}.lock`;
}

function delay(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

async function acquire(file: string, opts: LockOptions): Promise<string> {
  const lockFile = lockFileFor(file);
  const deadline = Date.now() + opts.timeoutMs;
  let backoff = 5;
  let waited = false;
  for (;;) {
    opts.signal?.throwIfAborted();
    try {
      const handle = await open(lockFile, 'wx', 0o600);
      try {
        await handle.writeFile(holderRecord());
      } finally {
        await handle.close();
      }
      return lockFile;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw ioError(lockFile, 'create the lock file', err);
    }
    const stale = await takeOverIfStale(lockFile);
    if (stale) {
      opts.onStale?.(lockFile, stale);
      continue;
    }
    if (!waited) {
      waited = true;
      opts.onWait?.(lockFile);
    }
    const left = deadline - Date.now();
    if (left <= 0) {
      throw new KubeconfigError(
        'ARCPROXY_KUBECONFIG_LOCKED',
        `Another program is updating ${file}: its lock file ${lockFile} has been held for more than ${opts.timeoutMs} ms. ` +
          `If no kubectl or arcproxy is running, remove ${lockFile} and try again.`,
        { file },
      );
    }
    // Jittered backoff so that waiting writers do not retry in lockstep.
    await delay(Math.min(left, backoff * (0.5 + Math.random())), opts.signal);
    backoff = Math.min(backoff * 2, 100);
  }
}

/**
 * Removes a lock whose arcproxy holder is gone; returns that holder, or undefined when the lock is
 * live, not arcproxy's (kubectl's locks are empty) or already gone. The lock is moved aside and
 * checked before it is deleted, so a lock another waiter has just taken over and re-created is
 * put back, not deleted.
 */
async function takeOverIfStale(lockFile: string): Promise<Holder | undefined> {
  const text = await readFile(lockFile, 'utf8').catch(() => undefined);
  const holder = text === undefined ? undefined : parseHolder(text);
  if (!holder || holderState(holder) !== 'gone') return undefined;
  const aside = `${lockFile}.${randomBytes(6).toString('hex')}.stale`;
  try {
    await rename(lockFile, aside);
  } catch {
    return undefined; // Someone else moved it first.
  }
  const moved = await readFile(aside, 'utf8').catch(() => undefined);
  if (moved !== text) {
    // Not the lock we judged: put it back (unless a third writer got in meanwhile).
    await link(aside, lockFile).catch(() => undefined);
    await unlink(aside).catch(() => undefined);
    return undefined;
  }
  await unlink(aside).catch(() => undefined);
  return holder;
}

/** Runs `fn` holding the lock; the lock is released however `fn` ends (and never if not acquired). */
export async function withFileLock<T>(file: string, opts: LockOptions, fn: () => Promise<T>): Promise<T> {
  const lockFile = await acquire(file, opts);
  let result: T;
  try {
    result = await fn();
  } catch (err) {
    await unlink(lockFile).catch(() => undefined);
    throw err;
  }
  // A lock left behind would block every later kubectl write, so failing to remove it is an error.
  await unlink(lockFile).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') throw ioError(lockFile, 'remove the lock file', err);
  });
  return result;
}
