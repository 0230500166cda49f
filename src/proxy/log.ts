/** One line of the request log. Carries no header values, query strings or tokens. */
export interface RequestLogEntry {
  method: string;
  /** Path only, prefix stripped: query strings can hold secrets. */
  path: string;
  /** Status sent to kubectl (for upgrades: the agent's, e.g. 101); 0 when none was. */
  status: number;
  durationMs: number;
  /** Body bytes from kubectl (for upgrades: all bytes after the request head). */
  bytesIn: number;
  /** Body bytes to kubectl (for upgrades: all bytes, response head included). */
  bytesOut: number;
  upgrade: boolean;
  /** The request's x-ms-client-request-id upstream, when the session traces requests. */
  requestId?: string;
  /** The HTTP version kubectl spoke to the listener: '1.1', or '2.0' when it multiplexes over HTTP/2. Set by the listener. */
  httpVersion?: string;
}
