/**
 * Stops arcproxy when the npm process that started it is gone. `npx arcproxy` runs arcproxy as a
 * grandchild (npm exec → sh → node): a signal to npm's pid (`kill $!` after `npx arcproxy … &`)
 * ends npm and its shell but not arcproxy, which would keep its port and kubeconfig entries with
 * no one left to stop it. Node has no parent-death signal, so a cheap timer notices the
 * re-parenting and stops arcproxy as a hang-up would (SIGHUP: the same clean stop as Ctrl+C).
 * Only under `npm exec`/npx: started any other way, a parent that exits may mean to leave
 * arcproxy running (`arcproxy … &` in a script that then ends).
 */

/** Twice a second: well inside the 5 s a stop may take, and one cheap getppid() each time. */
const CHECK_MS = 500;

export interface ParentWatchOptions {
  env: NodeJS.ProcessEnv;
  /** The current parent pid (process.ppid). */
  ppid: () => number;
  /** Says why, then stops the process (sends it SIGHUP). */
  onParentGone: () => void;
  intervalMs?: number;
}

/** Starts watching when arcproxy runs under npm exec; returns a function that stops watching. */
export function watchParent(opts: ParentWatchOptions): () => void {
  if (opts.env.npm_command !== 'exec') return () => undefined;
  const first = opts.ppid();
  // Already re-parented to init (or a subreaper) before we looked: nothing to compare with.
  if (first <= 1) return () => undefined;
  const timer = setInterval(() => {
    if (opts.ppid() === first) return;
    clearInterval(timer);
    opts.onParentGone();
  }, opts.intervalMs ?? CHECK_MS);
  timer.unref();
  return () => clearInterval(timer);
}
