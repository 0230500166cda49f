/**
 * What the user is told when the tunnel could not carry a request: the message of the proxy's
 * 503 Status and of the `tunnelDown` line arcproxy prints itself. Says what happened and what to
 * check; never carries a token.
 */
import { errorCodeOf, redactSecrets } from '../errors/index.js';

export function tunnelFailureMessage(err: unknown): string {
  const code = errorCodeOf(err, 'ARCPROXY_TUNNEL_FAILED');
  if (code === 'ARCPROXY_RELAY_NO_LISTENER') {
    return (
      "arcproxy: the cluster's agent is not connected to Azure Relay (no listener online). " +
      "Check that the cluster's Azure Arc agents are running (kubectl -n azure-arc get pods on the cluster, " +
      'or `az connectedk8s show`), then retry.'
    );
  }
  if (code === 'ARCPROXY_RELAY_LISTENER_TIMEOUT') {
    // Its own message says which hybrid connection and what to check.
    return `arcproxy: ${redactSecrets(err instanceof Error ? err.message : String(err))}`;
  }
  return `arcproxy: the tunnel to the cluster failed (${code}): ${redactSecrets(err instanceof Error ? err.message : String(err))}`;
}
