import { describe, expect, it } from 'vitest';
import { ARC_SERVER_APP_ID, ARC_SERVER_SCOPE } from '../../../../src/azure/cloud.js';
import { MICROSOFT_GRAPH_APP_ID, audienceForRequest, audienceForScope } from '../../../../src/emulator/entra/scopes.js';

describe('scope to audience', () => {
  it.each([
    ['https://management.core.windows.net//.default', 'https://management.core.windows.net/'],
    ['https://management.core.windows.net/.default', 'https://management.core.windows.net/'],
    ['https://management.azure.com/.default', 'https://management.azure.com/'],
    [ARC_SERVER_SCOPE, ARC_SERVER_APP_ID],
    ['api://my-app/.default', 'api://my-app'],
    ['https://graph.microsoft.com/User.Read', 'https://graph.microsoft.com/'],
    ['User.Read', MICROSOFT_GRAPH_APP_ID],
  ])('%s -> %s', (scope, audience) => {
    expect(audienceForScope(scope)).toBe(audience);
  });

  it('ignores OIDC scopes MSAL adds for users', () => {
    expect(audienceForRequest(`${ARC_SERVER_SCOPE} openid profile offline_access`)).toBe(ARC_SERVER_APP_ID);
  });

  it('refuses two resources in one request, and an empty scope', () => {
    expect(audienceForRequest(`${ARC_SERVER_SCOPE} https://management.azure.com/.default`)).toBeUndefined();
    expect(audienceForRequest('')).toBeUndefined();
  });
});
