/** One line of the request log. Carries no header values or tokens; the query string only with secret-looking values redacted. */
export interface RequestLogEntry {
  method: string;
  /** Path and query (prefix stripped), secret-looking query values redacted (redactQuery). */
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

/**
 * Parameter names whose values never reach the log: credentials by name, and exec/attach's
 * `command`, whose arguments are whatever the user typed (a password on a command line).
 */
const SECRET_NAME = /token|secret|passw|key|sig|auth|credential|assertion|code|command/i;
/** A JWT, whatever the parameter is called. */
const JWT = /^eyJ[\w-]*\.[\w-]+/;

/** A query string (with its "?") for the log: each secret-looking value replaced, the rest as sent. */
export function redactQuery(query: string): string {
  if (query.length <= 1) return query;
  const params = query
    .slice(1)
    .split('&')
    .map((param) => {
      const eq = param.indexOf('=');
      if (eq === -1) return param;
      const name = param.slice(0, eq);
      let value = param.slice(eq + 1);
      try {
        value = decodeURIComponent(value.replace(/\+/g, ' '));
      } catch {
        // Not valid percent-encoding: judge it as it is.
      }
      return SECRET_NAME.test(name) || JWT.test(value) ? `${name}=[redacted]` : param;
    });
  return `?${params.join('&')}`;
}
