/**
 * Failures of a stream that the tunnel had already opened: it closed before the agent answered,
 * or in the middle of an answer. (Failures to open one are RelayErrors, src/relay/errors.ts.)
 */
import { ArcproxyError } from '../errors/index.js';

export class TunnelError extends ArcproxyError {
  constructor(code: 'ARCPROXY_TUNNEL_CLOSED' | 'ARCPROXY_TUNNEL_FAILED', message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'TunnelError';
  }
}

/** The stream to the agent ended before the answer did; `midResponse` says whether any of it came. */
export function streamClosedEarly(midResponse: boolean, what = 'it answered'): TunnelError {
  return new TunnelError(
    'ARCPROXY_TUNNEL_CLOSED',
    midResponse ? 'the stream to the cluster agent closed before the response was complete' : `the stream to the cluster agent closed before ${what}`,
  );
}
