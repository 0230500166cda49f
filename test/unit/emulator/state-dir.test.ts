/** Where the emulator writes its cloud profile, and that it leaves nothing behind it did not ask for. */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startEmulator } from '../../../src/emulator/index.js';
import { defaultSeed } from '../../../src/emulator/seed.js';

describe('the emulator state directory', () => {
  it('is a temporary directory of its own by default, removed on a clean stop', async () => {
    const emulator = await startEmulator({ seed: defaultSeed() });
    const dir = dirname(emulator.cloudFile);
    expect(existsSync(emulator.cloudFile)).toBe(true);
    await emulator.close();
    expect(existsSync(dir)).toBe(false);
  });

  it('--state-dir is created when missing, and kept', async () => {
    const base = await mkdtemp(join(tmpdir(), 'state-'));
    const dir = join(base, 'nested', 'state');
    const emulator = await startEmulator({ seed: defaultSeed(), stateDir: dir });
    expect(emulator.cloudFile).toBe(join(dir, 'cloud.json'));
    await emulator.close();
    expect(existsSync(emulator.cloudFile)).toBe(true);
    await rm(base, { recursive: true, force: true });
  });
});
