/**
 * Which api-versions of Microsoft.Kubernetes/connectedClusters the emulated ARM serves, and what
 * each one's listClusterUserCredential answer holds — from the REST specification
 * (Azure/azure-rest-api-specs, specification/hybridkubernetes/resource-manager/Microsoft.Kubernetes/
 * HybridKubernetes: the tags of readme.md, the Versions of main.tsp, each version's
 * connectedClusters.json and examples).
 */

/**
 * The published versions whose listClusterUserCredential takes `{authenticationMethod,
 * clientProxy}` in its body, oldest first. readme.md also publishes 2020-01-01-preview and
 * 2021-03-01: the first has a different operation (listClusterUserCredentials, clientProxy in the
 * query), the second none, so they are left out (stricter than Azure for a GET with them, which
 * no Cluster Connect client sends).
 */
export const CONNECTED_CLUSTERS_API_VERSIONS: readonly string[] = [
  '2021-04-01-preview',
  '2021-10-01',
  '2022-05-01-preview',
  '2022-10-01-preview',
  '2023-11-01-preview',
  '2024-01-01',
  '2024-02-01-preview',
  '2024-06-01-preview',
  '2024-07-01-preview',
  '2024-07-15-preview',
  '2024-12-01-preview',
  '2025-08-01-preview',
  '2025-12-01-preview',
  '2026-02-01-preview',
  '2026-05-01',
];

/**
 * HybridConnectionConfig has relayTid ("TenantID of the relay") and relayType ("Type of relay")
 * from this version on: 2024-07-01-preview's and 2024-01-01's schemas lack them; 2024-07-15-preview's
 * examples and every later schema (and the TypeSpec model, with no @added) have them.
 */
const RELAY_FIELDS_SINCE = '2024-07-15-preview';

/** The version as ARM matches it (case-insensitively), or undefined when it is not served. */
export function servedApiVersion(value: string): string | undefined {
  return CONNECTED_CLUSTERS_API_VERSIONS.find((v) => v.toLowerCase() === value.toLowerCase());
}

/** Whether a served version's credential answer carries relayTid and relayType. */
export function hasRelayFields(servedVersion: string): boolean {
  const index = CONNECTED_CLUSTERS_API_VERSIONS.indexOf(servedVersion);
  return index >= CONNECTED_CLUSTERS_API_VERSIONS.indexOf(RELAY_FIELDS_SINCE);
}
