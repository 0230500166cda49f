import type { Duplex } from 'node:stream';

/**
 * Opens byte streams to the cluster agent. Each dial() is a NEW stream (one relay connection);
 * the proxy speaks HTTP/1.1 on it. Rejects with an ArcproxyError whose `code` says why
 * (for example ARCPROXY_RELAY_NO_LISTENER); the proxy turns that into a 503 Status for kubectl.
 * An aborted `signal` should reject promptly and leave nothing open.
 */
export interface StreamDialer {
  dial(signal?: AbortSignal): Promise<Duplex>;
  /**
   * Whether a stream this dialer opened should carry no new request: its relay credential was
   * replaced, and its hybrid connection will be deleted (1001) while a request may be on it.
   * Optional; absent means never.
   */
  retired?(stream: Duplex): boolean;
}
