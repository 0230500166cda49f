/**
 * arcproxy's own token requests retry as the SDK's pipeline did (pop/token-retry.ts), against a
 * scripted authority: the client-secret sign-in, and a user sign-in's refresh-token request.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ClientSecretTokenCredential } from '../../../src/azure/secret-credential.js';
import { UserSignIn } from '../../../src/azure/user-sign-in.js';
import { EntraTokenError, retryAfterMs } from '../../../src/azure/pop/token-http.js';
import { closeCloudTransport } from '../../../src/azure/transport.js';
import type { CloudProfile } from '../../../src/net/cloud-profile.js';
import { startScriptedAuthority, type ScriptedAuthority } from '../emulator/entra/tls-fixture.js';

type Answer = { status: number; body: unknown; headers?: Record<string, string> };
const TOKEN = { token_type: 'Bearer', expires_in: 3599, access_token: 'scripted-access-token' };

describe('ClientSecretTokenCredential retries', () => {
  let authority: ScriptedAuthority;
  let cloud: CloudProfile;
  let script: Answer[] = [];
  let requests = 0;
  const slept: number[] = [];

  beforeAll(async () => {
    authority = await startScriptedAuthority(() => {
      requests++;
      const { status, body, headers } = script.shift() ?? { status: 500, body: { error: 'no_script' } };
      return { status, headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) };
    });
    cloud = authority.cloud;
  });
  afterEach(() => {
    script = [];
    requests = 0;
    slept.length = 0;
    told.length = 0;
  });
  afterAll(() => authority?.close());

  const told: string[] = [];
  const credential = (on: CloudProfile = cloud) =>
    new ClientSecretTokenCredential({
      cloud: on,
      tenantId: 'contoso.example',
      clientId: 'app',
      clientSecret: 'shh-secret',
      sleep: async (ms) => {
        slept.push(ms);
      },
      onThrottled: (message) => told.push(message),
    });

  it('retries 503 and 429 and gets the token', async () => {
    script = [
      { status: 503, body: { error: 'temporarily_unavailable' } },
      { status: 429, body: { error: 'throttled' } },
      { status: 200, body: TOKEN },
    ];
    expect((await credential().getToken('arm/.default')).token).toBe('scripted-access-token');
    expect(requests).toBe(3);
    expect(slept).toEqual([1000, 2000]);
    expect(told).toEqual([]);
  });

  it("waits as long as Entra's Retry-After asks instead of its own backoff", async () => {
    script = [
      { status: 429, body: { error: 'throttled' }, headers: { 'retry-after': '7' } },
      { status: 503, body: { error: 'temporarily_unavailable' }, headers: { 'retry-after-ms': '1500' } },
      { status: 200, body: TOKEN },
    ];
    expect((await credential().getToken('arm/.default')).token).toBe('scripted-access-token');
    expect(requests).toBe(3);
    expect(slept).toEqual([7000, 1500]);
    // Each wait Entra asked for is said, with its length: a silent minute looks like a hang.
    expect(told).toEqual([expect.stringMatching(/wait 7 s .*HTTP 429/), expect.stringMatching(/wait 2 s .*HTTP 503/)]);
  });

  it('fails at once, saying how long, when Entra asks for a wait longer than a minute', async () => {
    script = [{ status: 429, body: { error: 'throttled', error_description: 'AADSTS50196: too many requests.' }, headers: { 'retry-after': '600' } }];
    const err = (await credential()
      .getToken('arm/.default')
      .catch((e: unknown) => e)) as EntraTokenError;
    expect(err).toBeInstanceOf(EntraTokenError);
    expect(err.status).toBe(429);
    expect(err.retryAfterMs).toBe(600_000);
    expect(err.message).toMatch(/HTTP 429.*wait 600 s/);
    expect(err.message).not.toContain('shh-secret');
    expect(requests).toBe(1);
    expect(slept).toEqual([]);
  });

  it('gives up after three retries with the last answer', async () => {
    script = Array.from({ length: 4 }, () => ({ status: 500, body: { error: 'server_error' } }));
    const err = await credential()
      .getToken('arm/.default')
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EntraTokenError);
    expect((err as EntraTokenError).status).toBe(500);
    expect(requests).toBe(4);
    expect(slept).toEqual([1000, 2000, 4000]);
  });

  it("does not retry Entra's refusal (a wrong secret is not going to get better)", async () => {
    script = [{ status: 401, body: { error: 'invalid_client', error_codes: [7000215], error_description: 'AADSTS7000215: Invalid client secret provided.' } }];
    const err = (await credential()
      .getToken('arm/.default')
      .catch((e: unknown) => e)) as EntraTokenError;
    expect(err.oauthError).toBe('invalid_client');
    expect(requests).toBe(1);
    expect(slept).toEqual([]);
  });

  it("retries a user sign-in's refresh-token request that met a 503, and keeps the sign-in", async () => {
    script = [
      { status: 503, body: { error: 'temporarily_unavailable' } },
      { status: 200, body: { ...TOKEN, refresh_token: 'rotated-refresh-token' } },
    ];
    const signIn = new UserSignIn({ cloud, tenantId: 'contoso.example', clientId: 'az-cli', refreshToken: 'refresh-token' });
    expect((await signIn.token('arm/.default')).accessToken).toBe('scripted-access-token');
    expect(requests).toBe(2);
  });

  it('retries a connection that could not be made', async () => {
    const nowhere: CloudProfile = { ...cloud, authorityHost: 'https://127.0.0.1:1/' };
    const err = (await credential(nowhere)
      .getToken('arm/.default')
      .catch((e: unknown) => e)) as EntraTokenError;
    expect(err.message).toContain('ECONNREFUSED');
    expect(slept).toEqual([1000, 2000, 4000]);
    closeCloudTransport(nowhere);
  });
});

describe('retryAfterMs', () => {
  it('reads milliseconds first, then seconds or an HTTP date, and nothing else', () => {
    const now = Date.parse('2026-12-06T08:00:00Z');
    expect(retryAfterMs({ 'retry-after-ms': '250', 'retry-after': '9' }, now)).toBe(250);
    expect(retryAfterMs({ 'x-ms-retry-after-ms': '1200' }, now)).toBe(1200);
    expect(retryAfterMs({ 'retry-after': '3' }, now)).toBe(3000);
    expect(retryAfterMs({ 'retry-after': 'Sun, 06 Dec 2026 08:00:05 GMT' }, now)).toBe(5000);
    expect(retryAfterMs({ 'retry-after': 'Sun, 06 Dec 2026 07:59:00 GMT' }, now)).toBe(0);
    expect(retryAfterMs({ 'retry-after': 'soon' }, now)).toBeUndefined();
    expect(retryAfterMs({ 'retry-after': '-1' }, now)).toBeUndefined();
    expect(retryAfterMs({}, now)).toBeUndefined();
  });
});
