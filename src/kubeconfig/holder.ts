/**
 * Who holds a lock or wrote a temp file: arcproxy records its pid, host and process start time in
 * its lock files, so a later run can tell a live holder from one that is gone (killed with the
 * lock held) and take the lock over at once instead of waiting and failing. The start time tells
 * a reused pid from the original process, where the system can say (Linux's /proc).
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';

export interface Holder {
  pid: number;
  host: string;
  /** Process start time in clock ticks since boot (/proc/<pid>/stat field 22); undefined where unknown. */
  start: string | undefined;
}

/** A process's start time, or undefined where the system does not tell (no /proc, gone, not ours to read). */
export function processStart(pid: number, readStat: (path: string) => string = (p) => readFileSync(p, 'utf8')): string | undefined {
  let stat: string;
  try {
    stat = readStat(`/proc/${pid}/stat`);
  } catch {
    return undefined;
  }
  // The command name (field 2) may hold spaces and parentheses: count fields after its last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return fields[19];
}

let self: Holder | undefined;

export function thisProcess(): Holder {
  self ??= { pid: process.pid, host: hostname(), start: processStart(process.pid) };
  return self;
}

/** The text arcproxy writes into its lock files. */
export function holderRecord(holder: Holder = thisProcess()): string {
  return `${JSON.stringify({ tool: 'arcproxy', pid: holder.pid, host: holder.host, ...(holder.start ? { start: holder.start } : {}) })}\n`;
}

/** The holder an arcproxy lock file names; undefined for anything else (kubectl's empty lock, a lock being written). */
export function parseHolder(text: string): Holder | undefined {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!raw || typeof raw !== 'object') return undefined;
  const r = raw as Record<string, unknown>;
  if (r.tool !== 'arcproxy' || !Number.isSafeInteger(r.pid) || (r.pid as number) <= 0 || typeof r.host !== 'string') return undefined;
  return { pid: r.pid as number, host: r.host, start: typeof r.start === 'string' ? r.start : undefined };
}

export type HolderState = 'alive' | 'gone' | 'unknown';

export interface ProcessProbe {
  /** process.kill(pid, 0): true when the pid exists (EPERM counts: another user's process). */
  exists(pid: number): boolean;
  start(pid: number): string | undefined;
  host: string;
}

const realProbe: ProcessProbe = {
  exists(pid) {
    try {
      process.kill(pid, 0);
      return true;
    } catch (err) {
      return (err as NodeJS.ErrnoException).code === 'EPERM';
    }
  },
  start: (pid) => processStart(pid),
  get host() {
    return thisProcess().host;
  },
};

/**
 * `gone`: the holder ran on this host and its process no longer exists, or its pid now belongs to
 * a process that started at another time. `unknown`: another host's (a shared home directory) —
 * never taken over. Anything in doubt counts as alive.
 */
export function holderState(holder: Holder, probe: ProcessProbe = realProbe): HolderState {
  if (holder.host !== probe.host) return 'unknown';
  if (!probe.exists(holder.pid)) return 'gone';
  if (holder.start === undefined) return 'alive';
  const now = probe.start(holder.pid);
  return now !== undefined && now !== holder.start ? 'gone' : 'alive';
}
