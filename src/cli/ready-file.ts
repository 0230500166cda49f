/** `--ready-file`: a file scripts poll for, holding where the proxy listens. */
import { constants } from 'node:fs';
import { access, rm } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { ArcproxyError } from '../errors/index.js';
import { writePrivateFile } from './private-file.js';

/** Atomically (private-file.ts), so a script polling for the file never reads half of it. */
export async function writeReadyFile(path: string, content: Record<string, unknown>, pid: number): Promise<void> {
  try {
    await writePrivateFile(path, `${JSON.stringify({ ...content, pid })}\n`);
  } catch (err) {
    throw new ArcproxyError(
      'ARCPROXY_READY_FILE',
      `Could not write the ready file ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'}): check that its directory exists and is writable.`,
      { cause: err },
    );
  }
}

/**
 * Checked before anything is written: a ready file that cannot be written would otherwise fail
 * the start after the kubeconfig was merged (and had to be rewritten back).
 */
export async function assertReadyFileWritable(path: string): Promise<void> {
  try {
    await access(dirname(resolve(path)), constants.W_OK);
  } catch (err) {
    throw new ArcproxyError(
      'ARCPROXY_READY_FILE',
      `Cannot write the ready file ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'}): its directory must exist and be writable.`,
      { cause: err },
    );
  }
}

export async function removeReadyFile(path: string): Promise<void> {
  await rm(path, { force: true });
}
