/** One locked read-modify-write of a kubeconfig: the only place that reads or writes the file. */
import { lstat, mkdir, readFile, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { writeFileAtomic } from './atomic-write.js';
import { parseKubeconfig, stringifyKubeconfig, type KubeconfigDocument } from './document.js';
import { ioError, KubeconfigError } from './errors.js';
import { withFileLock } from './lock.js';
import { patchInPlace } from './in-place.js';
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
  /** Write these exact bytes with this mode instead of the edited document (undoing a merge). */
  replaceWith?: FileState;
}

/** A file's bytes (as text) and permission bits. */
export interface FileState {
  text: string;
  mode: number;
}

/** What one update found and wrote: `before` undefined when the file did not exist. */
export interface UpdateOutcome<T> {
  result: T;
  before: FileState | undefined;
  /** The text written; undefined when nothing was. */
  written: string | undefined;
}

/**
 * A file's own conventions kept on rewrite: a UTF-8 byte order mark and CRLF line endings are
 * taken off for parsing and put back on the output.
 */
interface TextStyle {
  bom: boolean;
  crlf: boolean;
}

function splitStyle(text: string): { body: string; style: TextStyle } {
  const bom = text.startsWith('\uFEFF');
  let body = bom ? text.slice(1) : text;
  const lf = body.split('\n').length - 1;
  const crlf = lf > 0 && (body.split('\r\n').length - 1) * 2 > lf;
  if (crlf) body = body.replace(/\r\n/g, '\n');
  return { body, style: { bom, crlf } };
}

function applyStyle(text: string, style: TextStyle): string {
  const lines = style.crlf ? text.replace(/\r?\n/g, '\r\n') : text;
  return style.bom ? `\uFEFF${lines}` : lines;
}

/**
 * Locks `file`, parses it (missing or empty counts as an empty kubeconfig when `ifMissing` is
 * not given), applies `edit` and atomically writes the result. Nothing is written when the
 * file is malformed or the edit changes nothing. With `ifMissing`, a missing file is not created.
 */
export async function updateKubeconfigFile<T>(
  file: string,
  edit: (kc: KubeconfigDocument, before: FileState | undefined) => Edit<T>,
  opts: UpdateOptions & { ifMissing?: () => T } = {},
): Promise<UpdateOutcome<T>> {
  const nothing = (result: T): UpdateOutcome<T> => ({ result, before: undefined, written: undefined });
  if (opts.ifMissing) {
    // Nothing to edit and nothing to create (not even the directory).
    if (!(await pathExists(file))) return nothing(opts.ifMissing());
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
    let before: FileState | undefined;
    try {
      const [text, info] = await Promise.all([readFile(target, 'utf8'), stat(target)]);
      before = { text, mode: info.mode & 0o7777 };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw ioError(file, 'read', err);
      if (opts.ifMissing) return nothing(opts.ifMissing());
    }
    const text = before?.text ?? '';
    const { body, style } = splitStyle(text);
    const kc = parseKubeconfig(body, file);
    const { result, changed, replaceWith } = edit(kc, before);
    if (!changed) return { result, before, written: undefined };
    // Patched in place where it can be, so only arcproxy's entries differ from the user's text.
    const output = replaceWith?.text ?? applyStyle(patchInPlace(body, kc) ?? stringifyKubeconfig(kc), style);
    // The merged file holds a private key: 0600 whatever it was (an undo gives the user's mode back).
    const mode = replaceWith?.mode ?? 0o600;
    if (output === text && (replaceWith === undefined || before?.mode === mode)) return { result, before, written: undefined };
    try {
      await writeFileAtomic(target, output, mode);
    } catch (err) {
      if (err instanceof KubeconfigError) throw err;
      throw ioError(file, 'write', err);
    }
    return { result, before, written: output };
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
