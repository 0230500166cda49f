import { ArcproxyError } from '../errors/index.js';

/** The requested local port is taken. arcproxy never falls back to another port silently. */
export class PortInUseError extends ArcproxyError {
  readonly port: number;
  constructor(port: number, options?: { cause?: unknown }) {
    super('ARCPROXY_PORT_IN_USE', `Port ${port} is already in use. Please select a different port with --port option.`, options);
    this.name = 'PortInUseError';
    this.port = port;
  }
}

/** Any other failure to listen (permission denied, address not available). */
export class ListenError extends ArcproxyError {
  constructor(host: string, port: number, reason: string, options?: { cause?: unknown }) {
    super('ARCPROXY_LISTEN_FAILED', `Cannot listen on ${host}:${port} (${reason}). Choose another port with --port option.`, options);
    this.name = 'ListenError';
  }
}
