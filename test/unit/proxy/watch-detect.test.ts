/** isResumableWatch: the per-response check stays cheap for ordinary GETs and exact for watches. */
import { describe, expect, it } from 'vitest';
import { isResumableWatch, type ResponseStatus } from '../../../src/proxy/watch-resume.js';

/** A response whose headers must not be looked at (reading them throws). */
function untouchable(status = 200): ResponseStatus {
  return {
    statusCode: status,
    get rawHeaders(): never {
      throw new Error('headers read for a path that cannot be a watch');
    },
  };
}
const json = (status = 200): ResponseStatus => ({ statusCode: status, rawHeaders: ['content-type', 'application/json'] });

describe('isResumableWatch', () => {
  it('settles an ordinary GET without looking at the headers', () => {
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
