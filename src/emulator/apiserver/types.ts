/**
 * Contracts inside the emulated apiserver: the REST core (server.ts and friends) owns pods and
 * their runtime; the streaming handlers (streaming/) serve exec and port-forward upgrades.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';

/** The authenticated (and, for the agent, impersonated) caller. */
export interface UserInfo {
  username: string;
  uid?: string;
  groups: string[];
}

/** What a running pod offers to exec and port-forward. */
export interface PodRuntime {
  readonly namespace: string;
  readonly name: string;
  readonly containers: readonly string[];
  /** Environment the built-in `env` command prints. */
  readonly env: Readonly<Record<string, string>>;
  /** Opens an in-process connection to the pod's port; undefined when nothing listens there. */
  connect(port: number): Duplex | undefined;
}

export interface ExecRequest {
  pod: PodRuntime;
  container: string;
  command: string[];
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  tty: boolean;
}

export interface PortForwardRequest {
  pod: PodRuntime;
  /** Ports named in the query (`?ports=8080`); SPDY/WebSocket streams may name others in headers. */
  ports: number[];
}

/**
 * Upgrade handlers. The REST core has already authenticated and authorized the caller and found
 * the pod; the handler owns the socket from here (WebSocket or SPDY/3.1 handshake included).
 */
export interface StreamingHandlers {
  exec(req: IncomingMessage, socket: Duplex, head: Buffer, exec: ExecRequest): void;
  portForward(req: IncomingMessage, socket: Duplex, head: Buffer, request: PortForwardRequest): void;
}

/**
 * A Kubernetes object as parsed JSON. Loosely typed on purpose: the emulator reads a few
 * well-known fields of any kind of object and keeps the rest as the client sent it.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- see above
export type KubeObject = Record<string, any>;
