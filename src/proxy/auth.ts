/**
 * How the proxy authenticates each request to the cluster agent.
 * - entra: the client's own Authorization and Impersonate-* headers are dropped and replaced by
 *   an Entra access token for the Arc server application (the session keeps it fresh; getToken
 *   should answer from a cache, since it is awaited once per request).
 * - passthrough: the client's Authorization (kubectl's service-account token) goes through.
 */
export type UpstreamAuth = { kind: 'entra'; getToken(): Promise<string> } | { kind: 'passthrough' };
