/**
 * How Entra turns a requested scope into a token audience (the v2 endpoint's rules as seen from
 * real tokens): "X/.default" asks for resource X; "https://host/Perm" for https://host; a bare
 * URL resource carries a trailing slash in `aud` (https://management.core.windows.net/), an
 * application id stays as it is.
 */

/** Scopes that ask for sign-in artefacts (ID token, refresh token), not for a resource. */
const OIDC_SCOPES = new Set(['openid', 'profile', 'offline_access', 'email']);

/** Microsoft Graph: the resource Entra picks when only OIDC scopes are asked for. */
export const MICROSOFT_GRAPH_APP_ID = '00000003-0000-0000-c000-000000000000';

function splitScopes(scope: string | undefined): string[] {
  return (scope ?? '').split(/\s+/).filter(Boolean);
}

/** The resource scopes of a request (OIDC scopes removed), in order. */
export function resourceScopes(scope: string | undefined): string[] {
  return splitScopes(scope).filter((s) => !OIDC_SCOPES.has(s.toLowerCase()));
}

/** The audience a single resource scope yields. */
export function audienceForScope(scope: string): string {
  let resource: string;
  if (scope.endsWith('/.default')) resource = scope.slice(0, -'/.default'.length);
  else if (scope.includes('/')) resource = scope.slice(0, scope.lastIndexOf('/'));
  else return MICROSOFT_GRAPH_APP_ID; // "User.Read" and friends are Graph permissions
  const bareUrl = /^(https?:\/\/[^/]+)\/*$/i.exec(resource);
  return bareUrl ? `${bareUrl[1]}/` : resource;
}

/**
 * The audience for a whole scope parameter. One token has one audience, so every resource scope
 * must name the same resource (Entra answers AADSTS28000 otherwise); undefined when they differ
 * or the parameter is empty.
 */
export function audienceForRequest(scope: string | undefined): string | undefined {
  const all = splitScopes(scope);
  if (all.length === 0) return undefined;
  const resources = resourceScopes(scope);
  if (resources.length === 0) return MICROSOFT_GRAPH_APP_ID;
  const audiences = new Set(resources.map(audienceForScope));
  return audiences.size === 1 ? [...audiences][0] : undefined;
}
