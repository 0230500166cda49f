export { startProxyServer, statusBody, PortInUseError, ListenError, stripPrefix } from './server.js';
export type { ProxyServer, ProxyServerOptions, RequestLogEntry } from './server.js';
export { createSessionPki, SESSION_CLIENT_COMMON_NAME } from '../pki/session-pki.js';
export type { SessionPki } from '../pki/session-pki.js';
export type { StreamDialer } from '../tunnel/dialer.js';
export type { UpstreamAuth } from './auth.js';
