/** Which kubeconfig file to write, and where a write to it really lands. */
import { existsSync } from 'node:fs';
import { lstat, readlink, realpath } from 'node:fs/promises';
import { basename, delimiter, dirname, join, resolve } from 'node:path';

/**
 * The file kubectl itself would add a new entry to (client-go's GetDefaultFilename): with one
 * $KUBECONFIG path, that path; with several, the first that exists, else the last; without
 * $KUBECONFIG, ~/.kube/config. Empty list items are ignored, as client-go's loader does.
 */
export function defaultKubeconfigPath(env: NodeJS.ProcessEnv, homeDir: string, exists: (path: string) => boolean = existsSync): string {
  const paths = (env.KUBECONFIG ?? '').split(delimiter).filter((p) => p !== '');
  if (paths.length === 0) return join(homeDir, '.kube', 'config');
  if (paths.length === 1) return paths[0]!;
  return paths.find((p) => exists(p)) ?? paths[paths.length - 1]!;
}

const MAX_LINKS = 40;

/**
 * The real file behind `file`, so an atomic rename replaces the target and keeps a symlinked
 * kubeconfig a symlink. A dangling link resolves to the file it points at (to be created).
 */
export async function resolveWriteTarget(file: string): Promise<string> {
  let current = resolve(file);
  for (let hops = 0; hops < MAX_LINKS; hops++) {
    try {
      return await realpath(current);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    // Missing: either the file itself (fine, it will be created) or a link to a missing file.
    let isLink = false;
    try {
      isLink = (await lstat(current)).isSymbolicLink();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    if (!isLink) {
      // Resolve the parent's links too, when the parent exists.
      const parent = await realpath(dirname(current)).catch(() => dirname(current));
      return join(parent, basename(current));
    }
    current = resolve(dirname(current), await readlink(current));
  }
  const err = new Error(`too many symbolic links resolving ${file}`) as NodeJS.ErrnoException;
  err.code = 'ELOOP';
  throw err;
}
