import { lstat, mkdtemp, readdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeReadyFile } from '../../../src/cli/ready-file.js';

describe('--ready-file', () => {
  it('writes the JSON whole, owner-only, and leaves no temporary file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ready-'));
    const file = join(dir, 'ready.json');
    await writeReadyFile(file, { port: 1 }, 42);
    expect(JSON.parse(await readFile(file, 'utf8'))).toEqual({ port: 1, pid: 42 });
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(await readdir(dir)).toEqual(['ready.json']);
  });

  it('never writes through a link someone planted at the old, guessable temporary name or at the path', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ready-'));
    const victim = join(dir, 'victim');
    await writeFile(victim, 'precious');
    const file = join(dir, 'ready.json');
    await symlink(victim, `${file}.42.tmp`);
    await symlink(victim, file);
    await writeReadyFile(file, { port: 1 }, 42);
    expect(await readFile(victim, 'utf8')).toBe('precious');
    // The link at the path itself was replaced by the ready file.
    expect((await lstat(file)).isSymbolicLink()).toBe(false);
  });

  it('fails with a clear error when the directory is missing', async () => {
    await expect(writeReadyFile('/nonexistent-dir/ready.json', {}, 1)).rejects.toMatchObject({ code: 'ARCPROXY_READY_FILE', exitCode: 2 });
  });
});

describe('private files (the emulator env file)', () => {
  it('replaces a file already at the path instead of writing into it, so its old mode and owner go with it', async () => {
    const { writePrivateFile } = await import('../../../src/cli/private-file.js');
    const dir = await mkdtemp(join(tmpdir(), 'env-'));
    const file = join(dir, 'arc.env');
    await writeFile(file, 'old', { mode: 0o644 });
    const before = await stat(file);
    await writePrivateFile(file, 'export A=1\n');
    const after = await stat(file);
    expect(after.ino).not.toBe(before.ino);
    expect(after.mode & 0o777).toBe(0o600);
    expect(await readFile(file, 'utf8')).toBe('export A=1\n');
  });
});
