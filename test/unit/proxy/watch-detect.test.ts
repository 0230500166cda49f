/** isResumableWatch: the per-response check stays cheap for ordinary GETs and exact for watches. */
import { describe, expect, it } from 'vitest';
import type { IncomingMessage } from 'node:http';
import { isResumableWatch } from '../../../src/proxy/watch-resume.js';

/** A response whose headers object must not be built (it throws when read). */
function untouchable(status = 200): IncomingMessage {
  return {
    statusCode: status,
    get headers(): never {
      throw new Error('headers read for a path that cannot be a watch');
    },
  } as unknown as IncomingMessage;
}
const json = (status = 200) => ({ statusCode: status, headers: { 'content-type': 'application/json' } }) as unknown as IncomingMessage;

describe('isResumableWatch', () => {
  it('settles an ordinary GET without building the headers object', () => {
    expect(isResumableWatch('GET', '/api/v1/namespaces/default/pods/hello-1', untouchable())).toBe(false);
    expect(isResumableWatch('GET', '/apis/apps/v1/deployments?limit=500', untouchable())).toBe(false);
  });

  it('still recognises watches, including a percent-encoded parameter name', () => {
    expect(isResumableWatch('GET', '/api/v1/pods?watch=true', json())).toBe(true);
    expect(isResumableWatch('get', '/api/v1/watch/pods', json())).toBe(true);
    expect(isResumableWatch('GET', '/api/v1/pods?%77atch=1', json())).toBe(true);
    expect(isResumableWatch('GET', '/api/v1/pods?watch=false', json())).toBe(false);
    expect(isResumableWatch('GET', '/api/v1/namespaces/watch-me/pods', json())).toBe(false);
  });
});
