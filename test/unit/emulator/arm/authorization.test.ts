import { describe, expect, it } from 'vitest';
import { canSeeSubscription, isAuthorized, scopeCovers } from '../../../../src/emulator/arm/authorization.js';
import { clusterResourceId, defaultSeed, DEFAULT_SUBSCRIPTION_ID as SUB, findPrincipal } from '../../../../src/emulator/seed.js';

const seed = defaultSeed();
const demo = clusterResourceId(SUB, 'demo-rg', 'demo');
const offline = clusterResourceId(SUB, 'demo-rg', 'offline');

describe('scopeCovers', () => {
  it('covers the scope itself and its children, case-insensitively', () => {
    expect(scopeCovers(`/subscriptions/${SUB}`, demo)).toBe(true);
    expect(scopeCovers(`/SUBSCRIPTIONS/${SUB.toUpperCase()}/resourcegroups/DEMO-RG/`, demo)).toBe(true);
    expect(scopeCovers(demo, demo)).toBe(true);
  });

  it('does not cover siblings that share a prefix, or parents', () => {
    expect(scopeCovers(`/subscriptions/${SUB}/resourceGroups/demo`, demo)).toBe(false);
    expect(scopeCovers(demo, `/subscriptions/${SUB}/resourceGroups/demo-rg`)).toBe(false);
  });
});

describe('isAuthorized', () => {
  const ids = (name: string) => [findPrincipal(seed, name).objectId];

  it('a Cluster User role at the resource group grants both permissions on its clusters', () => {
    expect(isAuthorized(seed, ids('ci'), demo, 'listClusterUserCredential')).toBe(true);
    expect(isAuthorized(seed, ids('ci'), offline, 'read')).toBe(true);
  });

  it('a cluster-scoped role reaches that cluster only', () => {
    expect(isAuthorized(seed, ids('viewer'), demo, 'listClusterUserCredential')).toBe(true);
    expect(isAuthorized(seed, ids('viewer'), offline, 'listClusterUserCredential')).toBe(false);
  });

  it('roles granted to a group apply to its members', () => {
    const group = 'aaaaaaaa-0000-4000-8000-000000000001';
    const s = { ...seed, roleAssignments: [{ principalId: group, role: 'Owner', scope: `/subscriptions/${SUB}` }] };
    expect(isAuthorized(s, ['someone', group], demo, 'listClusterUserCredential')).toBe(true);
    expect(isAuthorized(s, ['someone'], demo, 'read')).toBe(false);
  });

  it('Reader grants read only', () => {
    const s = { ...seed, roleAssignments: [{ principalId: 'p', role: 'Reader', scope: demo }] };
    expect(isAuthorized(s, ['p'], demo, 'read')).toBe(true);
    expect(isAuthorized(s, ['p'], demo, 'listClusterUserCredential')).toBe(false);
  });

  it('no assignment, no access', () => {
    expect(isAuthorized(seed, ids('noaccess'), demo, 'read')).toBe(false);
    expect(canSeeSubscription(seed, ids('noaccess'), SUB)).toBe(false);
    expect(canSeeSubscription(seed, ids('ci'), SUB)).toBe(true);
  });
});
