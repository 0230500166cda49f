/** Locks and temp files left by an arcproxy that is gone are cleared at once; a live holder's are not. */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { lockFileFor, mergeKubeconfig } from '../../../src/kubeconfig/index.js';
import { holderRecord, holderState, parseHolder, processStart, thisProcess, type ProcessProbe } from '../../../src/kubeconfig/holder.js';
import { removeStaleTemps, writeFileAtomic } from '../../../src/kubeconfig/atomic-write.js';
import { withFileLock } from '../../../src/kubeconfig/lock.js';
import { entriesOf, parsePlain, RICH_KUBECONFIG, sampleEntry, tempDir } from './helpers.js';

/** The pid of a process that has already exited (a pid no process has, until the system reuses it). */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(r.stdout);
}

const probe = (over: Partial<ProcessProbe>): ProcessProbe => ({ exists: () => true, start: () => '100', host: 'here', ...over });

describe('holderState', () => {
  it('alive: the pid exists and started when recorded (or the start time cannot be compared)', () => {
    expect(holderState({ pid: 7, host: 'here', start: '100' }, probe({}))).toBe('alive');
    expect(holderState({ pid: 7, host: 'here', start: undefined }, probe({}))).toBe('alive');
    expect(holderState({ pid: 7, host: 'here', start: '100' }, probe({ start: () => undefined }))).toBe('alive');
  });
  it('gone: the pid does not exist, or now belongs to a process that started at another time (reused)', () => {
    expect(holderState({ pid: 7, host: 'here', start: '100' }, probe({ exists: () => false }))).toBe('gone');
    expect(holderState({ pid: 7, host: 'here', start: '100' }, probe({ start: () => '555' }))).toBe('gone');
  });
  it("unknown: another host's holder (a shared home directory) is never judged", () => {
    expect(holderState({ pid: 7, host: 'elsewhere', start: '100' }, probe({ exists: () => false }))).toBe('unknown');
  });
  it('with the real process table: this process is alive, an exited one is gone, this pid with another start time is gone', () => {
    const me = thisProcess();
    expect(me).toMatchObject({ pid: process.pid, host: hostname() });
    expect(holderState(me)).toBe('alive');
    expect(holderState({ ...me, pid: deadPid() })).toBe('gone');
    if (process.platform === 'linux') {
      expect(me.start).toMatch(/^\d+$/);
      expect(holderState({ ...me, start: String(Number(me.start) + 1) })).toBe('gone');
    }
  });
  it('reads the start time after a command name holding spaces and parentheses', () => {
    const stat = `42 (a b) c)) S ${Array.from({ length: 30 }, (_, i) => i + 4).join(' ')}`;
    expect(processStart(42, () => stat)).toBe('22');
    expect(
      processStart(42, () => {
        throw new Error('no /proc');
      }),
    ).toBeUndefined();
  });
  it("parses only arcproxy's records: kubectl's empty lock and garbage are nobody's", () => {
    expect(parseHolder(holderRecord({ pid: 12, host: 'h', start: '9' }))).toEqual({ pid: 12, host: 'h', start: '9' });
    for (const text of ['', 'x', '{"pid":12,"host":"h"}', '{"tool":"arcproxy","pid":-1,"host":"h"}']) expect(parseHolder(text)).toBeUndefined();
  });
});

describe('a stale <file>.lock', () => {
  async function setUp(lockText: string) {
    const dir = await tempDir();
    const file = join(dir, 'config');
    await writeFile(file, RICH_KUBECONFIG);
    await writeFile(lockFileFor(file), lockText, { flag: 'wx' });
    return { dir, file };
  }

  it('left by an arcproxy that is gone is taken over at once, with a notice, and the merge goes ahead', async () => {
    const pid = deadPid();
    const { file } = await setUp(holderRecord({ pid, host: hostname(), start: undefined }));
    const notices: string[] = [];
    const waits: string[] = [];
    const started = Date.now();
    // A timeout far below the old wait: a takeover must not wait at all.
    await mergeKubeconfig(file, sampleEntry(), { lockTimeoutMs: 50, onStaleLock: (n) => notices.push(n), onLockWait: (l) => waits.push(l) });
    expect(Date.now() - started).toBeLessThan(2000);
    expect(notices).toEqual([`took over ${lockFileFor(file)}, left by arcproxy process ${pid}, which is no longer running.`]);
    expect(entriesOf(parsePlain(await readFile(file, 'utf8')), sampleEntry()).cluster).toBeDefined();
    expect(existsSync(lockFileFor(file))).toBe(false);
  });

  it('whose pid was reused by another process is taken over too', async () => {
    if (process.platform !== 'linux') return;
    const me = thisProcess();
    const { file } = await setUp(holderRecord({ ...me, start: String(Number(me.start) + 1) }));
    const notices: string[] = [];
    await mergeKubeconfig(file, sampleEntry(), { lockTimeoutMs: 50, onStaleLock: (n) => notices.push(n) });
    expect(notices).toHaveLength(1);
  });

  it('held by a live arcproxy, by kubectl (empty) or by another host is waited for and then LOCKED, as before', async () => {
    for (const text of [holderRecord(), '', holderRecord({ pid: deadPid(), host: `not-${hostname()}`, start: undefined })]) {
      const { dir, file } = await setUp(text);
      const notices: string[] = [];
      await expect(mergeKubeconfig(file, sampleEntry(), { lockTimeoutMs: 100, onStaleLock: (n) => notices.push(n) })).rejects.toMatchObject({
        code: 'ARCPROXY_KUBECONFIG_LOCKED',
      });
      expect(notices).toEqual([]);
      expect(await readFile(lockFileFor(file), 'utf8')).toBe(text);
      expect(await readFile(file, 'utf8')).toBe(RICH_KUBECONFIG);
      expect((await readdir(dir)).sort()).toEqual(['config', 'config.lock']);
    }
  });

  it('records this process in the lock it holds', async () => {
    const dir = await tempDir();
    const file = join(dir, 'config');
    let seen: string | undefined;
    await withFileLock(file, { timeoutMs: 100 }, async () => {
      seen = await readFile(lockFileFor(file), 'utf8');
    });
    expect(parseHolder(seen!)).toEqual(thisProcess());
  });
});

describe('temp files', () => {
  it("a killed process's temp file (dead pid) is removed by the next write; a live process's is kept", async () => {
    const dir = await tempDir();
    const target = join(dir, 'config');
    const dead = join(dir, `.config.${deadPid()}.0123456789ab.tmp`);
    const live = join(dir, `.config.${process.ppid}.0123456789ab.tmp`);
    const other = join(dir, `.other.${deadPid()}.0123456789ab.tmp`);
    for (const f of [dead, live, other]) await writeFile(f, '');
    await writeFileAtomic(target, 'apiVersion: v1\n');
    expect(existsSync(dead)).toBe(false);
    expect(existsSync(live)).toBe(true);
    expect(existsSync(other)).toBe(true);
    expect(await removeStaleTemps(target)).toEqual([]);
  });

  it('a failed write leaves no temp file behind', async () => {
    const dir = await tempDir();
    // Renaming a file over a directory fails after the temp file was written.
    const target = join(dir, 'config');
    await mkdir(target);
    await expect(writeFileAtomic(target, 'x')).rejects.toThrow();
    expect(await readdir(dir)).toEqual(['config']);
  });
});
