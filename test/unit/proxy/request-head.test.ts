import { describe, expect, it } from 'vitest';
import { prepareUpstreamRequest, UpstreamRequest } from '../../../src/proxy/request-head.js';

function prepared(method: string, path: string, raw: string[], bearerToken?: string, upgrade = false): UpstreamRequest {
  const r = prepareUpstreamRequest(method, path, raw, { bearerToken, upgrade });
  if (!(r instanceof UpstreamRequest)) throw new Error(r.problem);
  return r;
}

describe('the request head written upstream', () => {
  it('keeps a pooled stream open and closes a fresh one', () => {
    const r = prepared('GET', '/api', ['Host', 'h', 'Accept', 'application/json']);
    expect(r.head('/api', 'keep-alive')).toBe('GET /api HTTP/1.1\r\nHost: h\r\nAccept: application/json\r\nConnection: keep-alive\r\n\r\n');
    expect(r.head('/api?resourceVersion=7', 'close')).toBe(
      'GET /api?resourceVersion=7 HTTP/1.1\r\nHost: h\r\nAccept: application/json\r\nConnection: close\r\n\r\n',
    );
  });

  it('gives a bodiless POST Content-Length: 0 as Node’s client did, and a bodiless GET none', () => {
    expect(prepared('POST', '/x', ['Host', 'h']).head('/x', 'close')).toContain('\r\nContent-Length: 0\r\n');
    expect(prepared('DELETE', '/x', ['Host', 'h']).head('/x', 'close')).not.toContain('Content-Length');
  });

  it('replaces the client’s identity with the session token in Entra mode', () => {
    const head = prepared('GET', '/x', ['Host', 'h', 'Authorization', 'Bearer mine', 'Impersonate-User', 'root'], 'session-token').head('/x', 'close');
    expect(head).toContain('Authorization: Bearer session-token\r\n');
    expect(head).not.toContain('mine');
    expect(head).not.toContain('Impersonate-User');
  });

  it('writes an upgrade with its Upgrade header and no Connection of the stream’s own', () => {
    const head = prepared('GET', '/exec', ['Host', 'h', 'Connection', 'Upgrade', 'Upgrade', 'websocket'], undefined, true).head('/exec', 'upgrade');
    expect(head).toBe('GET /exec HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n');
  });

  it('frames a body as the client did, else in chunks', () => {
    expect(prepared('POST', '/x', ['Host', 'h', 'Content-Length', '5']).bodyFraming).toEqual({ chunked: false, contentLength: 5 });
    expect(prepared('POST', '/x', ['Host', 'h', 'Transfer-Encoding', 'chunked']).bodyFraming).toEqual({ chunked: true });
  });

  it('refuses a head that could be broken open', () => {
    expect(prepareUpstreamRequest('GET', '/x y', ['Host', 'h'], { upgrade: false })).toEqual({ problem: 'the request path contains unescaped characters' });
    expect(prepareUpstreamRequest('GET', '/x', ['Host', 'h\r\nX: y'], { upgrade: false })).toMatchObject({
      problem: expect.stringContaining('invalid character'),
    });
  });
});
