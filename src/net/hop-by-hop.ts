/**
 * Connection-specific header fields (RFC 9110 §7.6.1), plus legacy proxy ones and h2c's settings:
 * they describe one hop and never travel further. Shared by arcproxy's proxy and the emulated agent.
 */
export const HOP_BY_HOP_HEADERS: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'http2-settings',
]);
