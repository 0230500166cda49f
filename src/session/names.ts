/** Names arcproxy gives the things it adds to a kubeconfig, and the proxy's path prefix. */
import { createHash } from 'node:crypto';

export interface SessionNames {
  contextName: string;
  clusterName: string;
  userName: string;
  /** `/proxies/<64 hex>`: the server path kubectl is given (a hash naming the cluster, as az's is). */
  pathPrefix: string;
}

export function sessionNames(clusterName: string, resourceGroup: string, kubeContext?: string): SessionNames {
  const contextName = kubeContext || clusterName;
  const key = `${resourceGroup}/${clusterName}`.toLowerCase();
  return {
    contextName,
    clusterName: contextName,
    // Two sessions with different --kube-context on one cluster must not share (and overwrite,
    // then remove) one user entry: each context gets its own.
    userName: `clusterUser_${resourceGroup}_${clusterName}${kubeContext && kubeContext !== clusterName ? `_${kubeContext}` : ''}`,
    pathPrefix: `/proxies/${createHash('sha256').update(key).digest('hex')}`,
  };
}
