import { existsSync, readFileSync, unlinkSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { lockFileFor, mergeKubeconfig, removeKubeconfigEntries } from '../../../src/kubeconfig/index.js';
import { withFileLock } from '../../../src/kubeconfig/lock.js';
import { entriesOf, parsePlain, RICH_KUBECONFIG, sampleEntry, tempDir } from './helpers.js';

describe('the <file>.lock convention', () => {
  it('uses the same lock file name as client-go', () => {
    expect(lockFileFor('/home/me/.kube/config')).toBe('/home/me/.kube/config.lock');
  });

  it('waits while another writer holds the lock, then merges once it is released', async () => {
    const file = join(await tempDir(), 'config');
    await writeFile(file, RICH_KUBECONFIG);
    const lock = lockFileFor(file);
    await writeFile(lock, '', { flag: 'wx' });
    const waits: string[] = [];

    const result = await mergeKubeconfig(file, sampleEntry(), {
      lockTimeoutMs: 20_000,
      onLockWait: (lockFile) => {
        waits.push(lockFile);
        // While the other writer holds the lock, nothing has been written.
        expect(readFileSync(file, 'utf8')).toBe(RICH_KUBECONFIG);
        unlinkSync(lockFile);
      },
    });

    expect(waits).toEqual([lock]);
    expect(result.previousCurrentContext).toBe('prod');
    expect(entriesOf(parsePlain(await readFile(file, 'utf8')), sampleEntry()).cluster).toBeDefined();
    expect(existsSync(lock)).toBe(false);
  });

  it('gives up with LOCKED after the timeout, naming the lock file, and leaves it and the file alone', async () => {
    const dir = await tempDir();
    const file = join(dir, 'config');
    await writeFile(file, RICH_KUBECONFIG);
    const lock = lockFileFor(file);
    await writeFile(lock, '', { flag: 'wx' });

    const err = await mergeKubeconfig(file, sampleEntry(), { lockTimeoutMs: 150 }).then(
      () => undefined,
      (e: unknown) => e,
    );

    expect(err).toMatchObject({ code: 'ARCPROXY_KUBECONFIG_LOCKED', exitCode: 2 });
    expect((err as Error).message).toContain(lock);
    expect((err as Error).message).toMatch(/If no kubectl or arcproxy is running, remove/);
    // Someone else's lock is theirs to remove.
    expect(existsSync(lock)).toBe(true);
    expect(await readFile(file, 'utf8')).toBe(RICH_KUBECONFIG);
    expect((await readdir(dir)).sort()).toEqual(['config', 'config.lock']);
  });

  it('also waits for the lock when removing entries', async () => {
    const file = join(await tempDir(), 'config');
    const entry = sampleEntry();
    await mergeKubeconfig(file, entry);
    await writeFile(lockFileFor(file), '', { flag: 'wx' });
    await expect(removeKubeconfigEntries(file, entry, { lockTimeoutMs: 100 })).rejects.toMatchObject({ code: 'ARCPROXY_KUBECONFIG_LOCKED' });
    expect(entriesOf(parsePlain(await readFile(file, 'utf8')), entry).cluster).toBeDefined();
  });

  it('holds the lock while the work runs and releases it when the work fails', async () => {
    const file = join(await tempDir(), 'config');
    const lock = lockFileFor(file);
    const seen: boolean[] = [];
    await expect(
      withFileLock(file, { timeoutMs: 1000 }, async () => {
        seen.push(existsSync(lock));
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(seen).toEqual([true]);
    expect(existsSync(lock)).toBe(false);
  });

  it('serialises writers in one process: the second starts only after the first has finished', async () => {
    const file = join(await tempDir(), 'config');
    const order: string[] = [];
    let releaseFirst!: () => void;
    const firstMayFinish = new Promise<void>((resolve) => (releaseFirst = resolve));
    let firstStarted!: () => void;
    const firstHasLock = new Promise<void>((resolve) => (firstStarted = resolve));
    const first = withFileLock(file, { timeoutMs: 5000 }, async () => {
      order.push('first:start');
      firstStarted();
      await firstMayFinish;
      order.push('first:end');
    });
    // Only ask for the lock once the first writer holds it, so the order is not a race.
    await firstHasLock;
    const second = withFileLock(file, { timeoutMs: 5000, onWait: () => releaseFirst() }, async () => {
      order.push('second:start');
    });
    await Promise.all([first, second]);
    expect(order).toEqual(['first:start', 'first:end', 'second:start']);
  });
});
