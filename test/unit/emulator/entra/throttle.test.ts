/**
 * The emulated Entra throttles the client-credentials grant as the real one does: 429 with
 * Retry-After (60 s unless planned otherwise) and a plain-text body, for as many requests as
 * planned, then tokens again. Other grants are not throttled by this hook.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EntraEmulator } from '../../../../src/emulator/entra/index.js';
import { defaultSeed, findPrincipal, type Seed } from '../../../../src/emulator/seed.js';
import { form, httpsRequest, startTestEntra } from './tls-fixture.js';

describe('Entra emulator: throttling', () => {
  let seed: Seed;
  let entra: EntraEmulator;
  let ca: string;

  beforeAll(async () => {
    seed = defaultSeed();
    const started = await startTestEntra(seed);
    entra = started.entra;
    ca = started.cloud.ca!;
  });
  afterAll(async () => {
    await entra?.close();
  });

  const clientCredentials = () => {
    const ci = findPrincipal(seed, 'ci');
    return httpsRequest(
      `${entra.url}/${seed.tenantId}/oauth2/v2.0/token`,
      ca,
      form({
        grant_type: 'client_credentials',
        client_id: ci.clientId!,
        client_secret: ci.clientSecret!,
        scope: 'https://management.core.windows.net//.default',
      }),
    );
  };

  it('answers the planned requests 429 with Retry-After, then issues tokens again', async () => {
    entra.throttleNext(2, 7);
    const first = await clientCredentials();
    expect(first.status).toBe(429);
    expect(first.headers['retry-after']).toBe('7');
    expect(first.body).toBe('Too Many Requests');
    expect((await clientCredentials()).status).toBe(429);
    const third = await clientCredentials();
    expect(third.status).toBe(200);
    expect(third.body.access_token).toEqual(expect.any(String));
  });

  it("sends Entra's 60 s when no Retry-After is planned", async () => {
    entra.throttleNext(1);
    const answer = await clientCredentials();
    expect(answer.status).toBe(429);
    expect(answer.headers['retry-after']).toBe('60');
  });

  it('leaves other grants alone', async () => {
    entra.throttleNext(1, 5);
    const refresh = await httpsRequest(
      `${entra.url}/${seed.tenantId}/oauth2/v2.0/token`,
      ca,
      form({ grant_type: 'refresh_token', client_id: 'x', refresh_token: 'nope' }),
    );
    expect(refresh.status).not.toBe(429);
    expect((await clientCredentials()).status).toBe(429);
  });
});
