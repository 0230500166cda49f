/**
 * The emulated container's programs. Exec never spawns a process: these few built-ins are what a
 * pod "has", enough for kubectl exec's everyday shapes (echo, cat with stdin, env, sleep, exit
 * codes, sh -c with one simple command).
 */
import { once } from 'node:events';
import type { Readable, Writable } from 'node:stream';
import type { PodRuntime } from '../types.js';

export interface CommandIO {
  /** Already ended when the client sends no stdin. */
  stdin: Readable;
  stdout: Writable;
  stderr: Writable;
  pod: PodRuntime;
  /** Aborted when the client goes away. */
  signal: AbortSignal;
}

/** An exit code, or a runtime error: the container runtime could not start the command at all. */
export type CommandResult = { kind: 'exit'; code: number } | { kind: 'error'; message: string };

type Builtin = (args: string[], io: CommandIO) => Promise<number>;

async function write(out: Writable, text: string | Buffer): Promise<void> {
  if (out.destroyed || out.writableEnded) return;
  if (!out.write(text)) await Promise.race([once(out, 'drain'), once(out, 'close')]);
}

const BUILTINS: Record<string, Builtin> = {
  async echo(args, io) {
    const noNewline = args[0] === '-n';
    const words = noNewline ? args.slice(1) : args;
    await write(io.stdout, words.join(' ') + (noNewline ? '' : '\n'));
    return 0;
  },
  async cat(args, io) {
    if (args.length > 0 && args[0] !== '-') {
      await write(io.stderr, `cat: ${args[0]}: No such file or directory\n`);
      return 1;
    }
    try {
      for await (const chunk of io.stdin) await write(io.stdout, chunk as Buffer);
    } catch {
      // stdin went away with the client: nothing left to copy
    }
    return 0;
  },
  async env(_args, io) {
    const lines = Object.entries(io.pod.env).map(([k, v]) => `${k}=${v}\n`);
    await write(io.stdout, lines.join(''));
    return 0;
  },
  async hostname(_args, io) {
    await write(io.stdout, `${io.pod.name}\n`);
    return 0;
  },
  async sleep(args, io) {
    const seconds = Number(args[0]);
    if (args.length !== 1 || !Number.isFinite(seconds) || seconds < 0) {
      await write(io.stderr, `sleep: invalid number '${args[0] ?? ''}'\n`);
      return 1;
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, seconds * 1000); // allowed: this is the `sleep N` command itself
      function done(): void {
        clearTimeout(timer);
        io.signal.removeEventListener('abort', done);
        resolve();
      }
      io.signal.addEventListener('abort', done);
      if (io.signal.aborted) done();
    });
    return io.signal.aborted ? 137 : 0;
  },
  async exit(args) {
    const code = args.length === 0 ? 0 : Number(args[0]);
    return Number.isInteger(code) ? code & 0xff : 2;
  },
  async true() {
    return 0;
  },
  async false() {
    return 1;
  },
  async sh(args, io) {
    if (args[0] !== '-c' || args[1] === undefined) {
      await write(io.stderr, 'sh: only "sh -c COMMAND" is supported in this emulator\n');
      return 2;
    }
    let words: string[];
    try {
      words = splitShellWords(args[1], io.pod.env);
    } catch (err) {
      await write(io.stderr, `sh: 1: ${(err as Error).message}\n`);
      return 2;
    }
    if (words.length === 0) return 0;
    const [name, ...rest] = words as [string, ...string[]];
    const builtin = BUILTINS[name];
    if (!builtin) {
      await write(io.stderr, `sh: 1: ${name}: not found\n`);
      return 127;
    }
    return builtin(rest, io);
  },
};

/** Runs argv as the container would. Never throws for bad input; never spawns anything. */
export async function runCommand(argv: readonly string[], io: CommandIO): Promise<CommandResult> {
  const [name, ...args] = argv;
  const builtin = name === undefined ? undefined : BUILTINS[name.replace(/^\/(usr\/)?bin\//, '')];
  if (!builtin) {
    // What containerd + runc report for a missing executable (kubectl prints it and exits 1).
    return {
      kind: 'error',
      message: `OCI runtime exec failed: exec failed: unable to start container process: exec: "${name ?? ''}": executable file not found in $PATH: unknown`,
    };
  }
  return { kind: 'exit', code: await builtin(args, io) };
}

/**
 * Splits one simple shell command into words: whitespace separates, '...' is literal, "..."
 * expands $VAR. Operators (; | & && > <) are not supported and are reported as such.
 */
export function splitShellWords(line: string, env: Readonly<Record<string, string>>): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let i = 0;
  const expand = (): string => {
    const m = /^\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))/.exec(line.slice(i));
    if (!m) {
      i += 1;
      return '$';
    }
    i += m[0].length;
    return env[(m[1] ?? m[2])!] ?? '';
  };
  while (i < line.length) {
    const c = line[i]!;
    if (/\s/.test(c)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
      i += 1;
    } else if (c === "'") {
      const end = line.indexOf("'", i + 1);
      if (end < 0) throw new Error('Syntax error: Unterminated quoted string');
      word += line.slice(i + 1, end);
      inWord = true;
      i = end + 1;
    } else if (c === '"') {
      i += 1;
      inWord = true;
      while (i < line.length && line[i] !== '"') {
        if (line[i] === '$') word += expand();
        else if (line[i] === '\\' && i + 1 < line.length) {
          word += line[i + 1];
          i += 2;
        } else word += line[i++];
      }
      if (i >= line.length) throw new Error('Syntax error: Unterminated quoted string');
      i += 1;
    } else if (c === '$') {
      word += expand();
      inWord = true;
    } else if (';|&<>()`'.includes(c)) {
      throw new Error(`Syntax error: "${c}" is not supported by this emulator`);
    } else {
      word += c;
      inWord = true;
      i += 1;
    }
  }
  if (inWord) words.push(word);
  return words;
}
