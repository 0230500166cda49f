/**
 * What a session needs from whoever starts it, as interfaces the session owns: the process edges
 * it reads and the events it reports. The CLI implements both (src/cli/io.ts, src/cli/reporter.ts);
 * tests pass their own.
 */
import type { RequestLogEntry } from '../proxy/log.js';
import type { TunnelState } from '../tunnel/tunnel-health.js';
import type { ProbeResult } from './cluster-probe.js';

export interface SessionIo {
  env: NodeJS.ProcessEnv;
  homeDir: string;
  stdinIsTty: boolean;
  stderrIsTty: boolean;
}

export interface SessionEvents {
  /** A start-up stage began (signing in, resolving the cluster, ...). */
  stage(name: string): void;
  /** Device-code instructions and other things the user must act on. */
  prompt(message: string): void;
  /** One tunnelled request (only when asked for with --debug). */
  request(entry: RequestLogEntry): void;
  /** Something the user should know that does not stop arcproxy (always shown). */
  warn(message: string): void;
  /** A lifecycle event (relayCredentialRenewed, tokenRefreshed, ...); never carries a token. */
  event(name: string, data: Record<string, unknown>): void;
  /** The tunnel broke (with why) or works again; reported once per change. */
  tunnel(state: TunnelState): void;
  /** The start-up check through the tunnel: the cluster's version, or why it refused. */
  clusterCheck(result: ProbeResult): void;
}
