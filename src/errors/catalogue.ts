/**
 * Every error code arcproxy uses, with the exit code it ends arcproxy with. One table, so a code
 * cannot drift between modules, and docs/exit-codes.md is checked against it by a test
 * (test/unit/errors/catalogue.test.ts). Codes are stable: scripts read them from `--output json`.
 */

export const ExitCode = {
  ok: 0,
  /** Bad command-line input, malformed kubeconfig or cloud profile. */
  badInput: 2,
  /** Signing in to Microsoft Entra ID failed or no credential was available. */
  authFailed: 3,
  /** Subscription, resource group or connected cluster not found. */
  notFound: 4,
  /** The signed-in principal lacks a role (ARM 403). */
  forbidden: 5,
  /** The connected cluster's agent is offline or expired. */
  clusterOffline: 6,
  /** The local port is already in use. */
  portInUse: 7,
  /** Azure Resource Manager or Azure Relay failed or could not be reached. */
  serviceUnavailable: 8,
  /** A bug in arcproxy. */
  internal: 70,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

interface CodeEntry {
  exitCode: ExitCodeValue;
  /**
   * `session`: met only inside a running session (a 503 Status message, a `tunnelDown` event, a
   * retry decision); it never ends arcproxy, so its exit code is only what it would be.
   */
  scope?: 'session';
}

export const ERROR_CATALOGUE = {
  // Bad input: the user's to fix.
  ARCPROXY_BAD_INPUT: { exitCode: ExitCode.badInput },
  ARCPROXY_MISSING_ARGUMENT: { exitCode: ExitCode.badInput },
  ARCPROXY_BAD_CLOUD_PROFILE: { exitCode: ExitCode.badInput },
  ARCPROXY_BAD_SEED: { exitCode: ExitCode.badInput },
  ARCPROXY_NO_SUBSCRIPTION: { exitCode: ExitCode.badInput },
  ARCPROXY_AMBIGUOUS_SUBSCRIPTION: { exitCode: ExitCode.badInput },
  ARCPROXY_ARM_BAD_REQUEST: { exitCode: ExitCode.badInput },
  ARCPROXY_KUBECONFIG_MALFORMED: { exitCode: ExitCode.badInput },
  ARCPROXY_KUBECONFIG_LOCKED: { exitCode: ExitCode.badInput },
  ARCPROXY_KUBECONFIG_IO: { exitCode: ExitCode.badInput },
  ARCPROXY_KUBECONFIG_NAME_TAKEN: { exitCode: ExitCode.badInput },
  ARCPROXY_LISTEN_FAILED: { exitCode: ExitCode.badInput },
  ARCPROXY_READY_FILE: { exitCode: ExitCode.badInput },
  ARCPROXY_POP_UNAVAILABLE: { exitCode: ExitCode.badInput },
  ARCPROXY_BAD_CLIENT_CERTIFICATE: { exitCode: ExitCode.badInput },
  // Signing in.
  ARCPROXY_NO_CREDENTIAL: { exitCode: ExitCode.authFailed },
  ARCPROXY_AUTH_FAILED: { exitCode: ExitCode.authFailed },
  ARCPROXY_ARM_UNAUTHORIZED: { exitCode: ExitCode.authFailed },
  // `arcproxy diagnose`: the cluster refused its test request's token.
  ARCPROXY_CLUSTER_UNAUTHORIZED: { exitCode: ExitCode.authFailed },
  // Not found.
  ARCPROXY_SUBSCRIPTION_NOT_FOUND: { exitCode: ExitCode.notFound },
  ARCPROXY_RESOURCE_GROUP_NOT_FOUND: { exitCode: ExitCode.notFound },
  ARCPROXY_CLUSTER_NOT_FOUND: { exitCode: ExitCode.notFound },
  ARCPROXY_FORBIDDEN: { exitCode: ExitCode.forbidden },
  ARCPROXY_CLUSTER_FORBIDDEN: { exitCode: ExitCode.forbidden },
  ARCPROXY_CLUSTER_OFFLINE: { exitCode: ExitCode.clusterOffline },
  ARCPROXY_PORT_IN_USE: { exitCode: ExitCode.portInUse },
  // Azure Resource Manager and Azure Relay.
  ARCPROXY_ARM_UNAVAILABLE: { exitCode: ExitCode.serviceUnavailable },
  ARCPROXY_ARM_NO_RELAY: { exitCode: ExitCode.serviceUnavailable },
  ARCPROXY_RELAY_NO_LISTENER: { exitCode: ExitCode.serviceUnavailable },
  ARCPROXY_RELAY_LISTENER_TIMEOUT: { exitCode: ExitCode.serviceUnavailable },
  ARCPROXY_RELAY_UNAUTHORIZED: { exitCode: ExitCode.serviceUnavailable },
  ARCPROXY_RELAY_TOKEN_EXPIRED: { exitCode: ExitCode.serviceUnavailable },
  ARCPROXY_RELAY_FORBIDDEN: { exitCode: ExitCode.serviceUnavailable },
  ARCPROXY_RELAY_REJECTED: { exitCode: ExitCode.serviceUnavailable },
  ARCPROXY_RELAY_UNREACHABLE: { exitCode: ExitCode.serviceUnavailable },
  ARCPROXY_RELAY_TIMEOUT: { exitCode: ExitCode.serviceUnavailable },
  ARCPROXY_RELAY_CLOSED: { exitCode: ExitCode.serviceUnavailable },
  ARCPROXY_RELAY_NOT_FOUND: { exitCode: ExitCode.serviceUnavailable },
  ARCPROXY_CLUSTER_REQUEST_FAILED: { exitCode: ExitCode.serviceUnavailable },
  // Inside a running session: these become 503/502 Status answers and events, never an exit.
  ARCPROXY_TUNNEL_FAILED: { exitCode: ExitCode.serviceUnavailable, scope: 'session' },
  ARCPROXY_TUNNEL_CLOSED: { exitCode: ExitCode.serviceUnavailable, scope: 'session' },
  ARCPROXY_BAD_UPSTREAM_RESPONSE: { exitCode: ExitCode.serviceUnavailable, scope: 'session' },
  ARCPROXY_SHUTTING_DOWN: { exitCode: ExitCode.ok, scope: 'session' },
  // Bugs.
  ARCPROXY_INTERNAL: { exitCode: ExitCode.internal },
  ARCPROXY_POP_KEY_INVALID: { exitCode: ExitCode.internal },
  ARCPROXY_KUBECONFIG_INVALID_ENTRY: { exitCode: ExitCode.internal },
} as const satisfies Record<string, CodeEntry>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

export function exitCodeFor(code: ErrorCode): ExitCodeValue {
  return ERROR_CATALOGUE[code].exitCode;
}
