/**
 * Authentication and authorization in the small apiserver: bearer tokens of seeded service
 * accounts (and the agent's own), impersonation honoured only for the agent, and RBAC from the
 * seed's bindings (cluster-admin, view, none).
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { SeedKubernetes } from '../seed.js';
import type { UserInfo } from './types.js';

const AGENT_NAMESPACE = 'azure-arc';
const AGENT_NAME = 'clusterconnect-agent';
const AGENT_USERNAME = `system:serviceaccount:${AGENT_NAMESPACE}:${AGENT_NAME}`;

export interface RequestAttributes {
  verb: string;
  /** "" for the core group. */
  group: string;
  resource: string;
  subresource?: string;
  namespace?: string;
  name?: string;
}

export type AuthResult = { ok: true; user: UserInfo } | { ok: false; code: 401 | 403; message: string; details?: { kind: string; name?: string } };

/**
 * What the "view" binding grants, by API group: the served part of the real `view` ClusterRole
 * (no Secrets, no RBAC, no nodes, leases or CRDs). reviews.ts lists the same in rules reviews.
 */
export const VIEW_VERBS: readonly string[] = ['get', 'list', 'watch'];
export const VIEW_RULES: Readonly<Record<string, readonly string[]>> = {
  '': [
    'configmaps',
    'endpoints',
    'events',
    'namespaces',
    'namespaces/status',
    'persistentvolumeclaims',
    'persistentvolumeclaims/status',
    'pods',
    'pods/log',
    'pods/status',
    'serviceaccounts',
    'services',
    'services/status',
  ],
  apps: [
    'daemonsets',
    'daemonsets/status',
    'deployments',
    'deployments/scale',
    'deployments/status',
    'replicasets',
    'replicasets/scale',
    'replicasets/status',
    'statefulsets',
    'statefulsets/scale',
    'statefulsets/status',
  ],
  batch: ['cronjobs', 'cronjobs/status', 'jobs', 'jobs/status'],
  'networking.k8s.io': ['ingresses', 'ingresses/status'],
  policy: ['poddisruptionbudgets', 'poddisruptionbudgets/status'],
};

function serviceAccountUser(namespace: string, name: string): UserInfo {
  return {
    username: `system:serviceaccount:${namespace}:${name}`,
    groups: ['system:serviceaccounts', `system:serviceaccounts:${namespace}`, 'system:authenticated'],
  };
}

/** Every value of a header that may repeat (Node joins unknown repeated headers with ", "). */
function headerValues(req: IncomingMessage, name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    if (req.rawHeaders[i]!.toLowerCase() === name) out.push(req.rawHeaders[i + 1]!);
  }
  return out;
}

export class Identities {
  readonly agentToken = `emulator-agent-${randomBytes(24).toString('hex')}`;
  readonly #tokens = new Map<string, UserInfo>();
  readonly #kubernetes: SeedKubernetes;

  constructor(kubernetes: SeedKubernetes) {
    this.#kubernetes = kubernetes;
    for (const sa of kubernetes.serviceAccounts) this.#tokens.set(sa.token, serviceAccountUser(sa.namespace, sa.name));
    this.#tokens.set(this.agentToken, serviceAccountUser(AGENT_NAMESPACE, AGENT_NAME));
  }

  /** Who is calling: the bearer token's owner, or whom the agent impersonates. */
  authenticate(req: IncomingMessage): AuthResult {
    const header = req.headers.authorization ?? '';
    const m = /^Bearer\s+(.+)$/i.exec(header);
    const caller = m ? this.#tokens.get(m[1]!.trim()) : undefined;
    if (!caller) return { ok: false, code: 401, message: 'Unauthorized' };
    const impersonateUser = headerValues(req, 'impersonate-user')[0];
    const impersonateGroups = headerValues(req, 'impersonate-group');
    const impersonating = impersonateUser !== undefined || impersonateGroups.length > 0 || headerValues(req, 'impersonate-uid').length > 0;
    if (!impersonating) return { ok: true, user: caller };
    if (caller.username !== AGENT_USERNAME) {
      const target = impersonateUser ?? impersonateGroups[0] ?? '';
      const resource = impersonateUser !== undefined ? 'users' : 'groups';
      return {
        ok: false,
        code: 403,
        message: `${resource} "${target}" is forbidden: User "${caller.username}" cannot impersonate resource "${resource}" in API group "" at the cluster scope`,
        details: { kind: resource, name: target },
      };
    }
    if (impersonateUser === undefined) return { ok: false, code: 403, message: 'requested impersonation of groups without a user' };
    const groups = [...new Set([...impersonateGroups, 'system:authenticated'])];
    const uid = headerValues(req, 'impersonate-uid')[0];
    return { ok: true, user: { username: impersonateUser, ...(uid ? { uid } : {}), groups } };
  }

  /** The role the seed's bindings give this user ("none" when no binding names it). */
  roleOf(user: UserInfo): 'cluster-admin' | 'view' | 'none' {
    let best: 'cluster-admin' | 'view' | 'none' = 'none';
    for (const b of this.#kubernetes.bindings) {
      const bySa = (b.serviceAccounts ?? []).some((sa) => {
        const [ns, name] = sa.split(':');
        return user.username === `system:serviceaccount:${ns}:${name}`;
      });
      const matches = (b.users ?? []).includes(user.username) || (b.groups ?? []).some((g) => user.groups.includes(g)) || bySa;
      if (!matches) continue;
      if (b.role === 'cluster-admin') return 'cluster-admin';
      if (b.role === 'view') best = 'view';
    }
    return best;
  }

  allowed(user: UserInfo, attrs: RequestAttributes): boolean {
    if (attrs.group === 'authentication.k8s.io' && attrs.resource === 'selfsubjectreviews') return true;
    if (attrs.group === 'authorization.k8s.io' && attrs.resource.startsWith('selfsubject')) return true;
    const role = this.roleOf(user);
    if (role === 'cluster-admin') return true;
    if (role === 'view') {
      const resource = attrs.subresource ? `${attrs.resource}/${attrs.subresource}` : attrs.resource;
      return VIEW_VERBS.includes(attrs.verb) && (VIEW_RULES[attrs.group] ?? []).includes(resource);
    }
    return false;
  }

  /** The apiserver's Forbidden message for a resource request. */
  static forbiddenMessage(user: UserInfo, attrs: RequestAttributes): string {
    const resource = attrs.subresource ? `${attrs.resource}/${attrs.subresource}` : attrs.resource;
    const subject = attrs.name ? `${attrs.resource} "${attrs.name}"` : attrs.resource;
    const scope = attrs.namespace ? `in the namespace "${attrs.namespace}"` : 'at the cluster scope';
    return `${subject} is forbidden: User "${user.username}" cannot ${attrs.verb} resource "${resource}" in API group "${attrs.group}" ${scope}`;
  }
}
