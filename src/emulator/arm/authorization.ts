/**
 * Azure RBAC as the emulated ARM applies it: a role assignment at a scope applies to that scope
 * and everything under it (scopes compare case-insensitively); any role grants reads, and only
 * the Cluster Connect roles grant listClusterUserCredential.
 */
import { CLUSTER_USER_ROLES, type Seed } from '../seed.js';

export type ArmPermission = 'read' | 'listClusterUserCredential';

function normaliseScope(scope: string): string {
  return scope.replace(/\/+$/, '').toLowerCase();
}

/** True when an assignment at `assignmentScope` applies to `target`. */
export function scopeCovers(assignmentScope: string, target: string): boolean {
  const a = normaliseScope(assignmentScope);
  const t = normaliseScope(target);
  return t === a || t.startsWith(`${a}/`);
}

const CLUSTER_USER_ROLE_SET = new Set(CLUSTER_USER_ROLES.map((r) => r.toLowerCase()));

/** `principalIds`: the caller's object id and the groups its token names. */
export function isAuthorized(seed: Seed, principalIds: readonly string[], target: string, permission: ArmPermission): boolean {
  const ids = new Set(principalIds.map((id) => id.toLowerCase()));
  return seed.roleAssignments.some(
    (ra) =>
      ids.has(ra.principalId.toLowerCase()) && scopeCovers(ra.scope, target) && (permission === 'read' || CLUSTER_USER_ROLE_SET.has(ra.role.toLowerCase())),
  );
}

/** A subscription is listed to a caller who holds any role at or under it. */
export function canSeeSubscription(seed: Seed, principalIds: readonly string[], subscriptionId: string): boolean {
  const ids = new Set(principalIds.map((id) => id.toLowerCase()));
  const sub = `/subscriptions/${subscriptionId}`;
  return seed.roleAssignments.some((ra) => ids.has(ra.principalId.toLowerCase()) && (scopeCovers(sub, ra.scope) || scopeCovers(ra.scope, sub)));
}
