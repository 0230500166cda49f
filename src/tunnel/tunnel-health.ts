/**
 * Watches relay dials so arcproxy can say, on its own output, when the tunnel breaks and when it
 * works again. kubectl shows the 503 Status message for resource requests, but during discovery it
 * prints only "the server is currently unable to handle the request": the user needs the reason
 * from arcproxy too. Reported once per change, not once per request.
 */
import type { Duplex } from 'node:stream';
import type { StreamDialer } from './dialer.js';
import { errorCodeOf, type ErrorCode } from '../errors/index.js';
import { tunnelFailureMessage } from './failure-message.js';

export type TunnelState = { ok: true } | { ok: false; code: ErrorCode; message: string };

export class TunnelHealth implements StreamDialer {
  readonly #inner: StreamDialer;
  readonly #onChange: (state: TunnelState) => void;
  #failingCode: ErrorCode | undefined;

  constructor(inner: StreamDialer, onChange: (state: TunnelState) => void) {
    this.#inner = inner;
    this.#onChange = onChange;
  }

  retired(stream: Duplex): boolean {
    return this.#inner.retired?.(stream) ?? false;
  }

  async dial(signal?: AbortSignal): Promise<Duplex> {
    try {
      const stream = await this.#inner.dial(signal);
      if (this.#failingCode !== undefined) {
        this.#failingCode = undefined;
        this.#onChange({ ok: true });
      }
      return stream;
    } catch (err) {
      if (!signal?.aborted) {
        const code = errorCodeOf(err, 'ARCPROXY_TUNNEL_FAILED');
        if (code !== this.#failingCode) {
          this.#failingCode = code;
          this.#onChange({ ok: false, code, message: tunnelFailureMessage(err) });
        }
      }
      throw err;
    }
  }
}
