/**
 * diagnose() in process against the emulator, with every secret the session received recorded on
 * its way in (Entra tokens for ARM and for the cluster, SHRs, the relay SAS, the client secret,
 * the service-account token): none of them may appear in the report, text or JSON.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { renderDiagnosisJson, renderDiagnosisText } from '../../../src/cli/diagnose-report.js';
import { ArcArm } from '../../../src/azure/arm.js';
import { ArcproxyCredential } from '../../../src/azure/credentials.js';
import { startEmulator, type Emulator } from '../../../src/emulator/index.js';
import { defaultSeed } from '../../../src/emulator/seed.js';
import { diagnose, type Diagnosis } from '../../../src/session/diagnose.js';
import { EntraTokenSource } from '../../../src/session/entra-token.js';
import { ShrSigner } from '../../../src/session/shr-signer.js';

let emulator: Emulator;
let home: string;

beforeAll(async () => {
  emulator = await startEmulator({ seed: defaultSeed() });
  home = await mkdtemp(join(tmpdir(), 'arcproxy-diagnose-'));
}, 60_000);
afterAll(async () => {
  await emulator?.close();
  await rm(home, { recursive: true, force: true });
});
afterEach(() => {
  vi.restoreAllMocks();
});

/** Records every value the methods return (tokens, SHRs, relay credentials' SAS). */
function recordSecrets(): string[] {
  const secrets: string[] = [];
  type Method = (...args: unknown[]) => Promise<unknown>;
  const record = (proto: object, method: string, pick: (value: never) => string): void => {
    const methods = proto as Record<string, Method>;
    const original = methods[method]!;
    vi.spyOn(methods, method).mockImplementation(async function (this: unknown, ...args: unknown[]) {
      const value = await original.apply(this, args);
      secrets.push(pick(value as never));
      return value;
    });
  };
  record(ArcproxyCredential.prototype, 'getToken', (t: { token: string }) => t.token);
  record(EntraTokenSource.prototype, 'getToken', (t: string) => t);
  record(ShrSigner.prototype, 'getToken', (t: string) => t);
  record(ArcArm.prototype, 'listClusterUserCredential', (c: { token: string }) => c.token);
  return secrets;
}

async function run(extra: { token?: string; authScheme?: 'bearer' } = {}): Promise<{ diagnosis: Diagnosis; secrets: string[] }> {
  const secrets = recordSecrets();
  const diagnosis = await diagnose(
    { name: 'demo', resourceGroup: 'demo-rg', version: 'test', ...extra },
    { env: { ...emulator.env }, homeDir: home, stdinIsTty: false, stderrIsTty: false },
    { prompt: () => undefined },
  );
  secrets.push(emulator.env.AZURE_CLIENT_SECRET!);
  if (extra.token) secrets.push(extra.token);
  return { diagnosis, secrets };
}

function credentialParts(secret: string): string[] {
  if (secret.startsWith('eyJ')) return secret.split('.').slice(1);
  const sig = /[?&\s]sig=([^&]+)/.exec(secret)?.[1];
  return sig ? [sig, decodeURIComponent(sig)] : [];
}

function expectNoneIn(diagnosis: Diagnosis, secrets: string[]): void {
  for (const out of [renderDiagnosisText(diagnosis), renderDiagnosisJson(diagnosis)]) {
    for (const secret of secrets) {
      expect(out).not.toContain(secret);
      // Nor any part of one that would still be a credential: a JWT's payload and signature, a SAS's signature.
      for (const part of credentialParts(secret)) expect(out).not.toContain(part);
    }
  }
}

describe('diagnose keeps every secret it handled out of its report', () => {
  it('PoP: ARM tokens, the PoP access token, its SHR and the relay SAS', async () => {
    const { diagnosis, secrets } = await run();
    expect(diagnosis.exitCode).toBe(0);
    expect(diagnosis.stages.every((s) => s.status === 'ok')).toBe(true);
    // It handled each kind: ARM token(s), a PoP access token, an SHR, a SAS, the client secret.
    expect(secrets.filter((s) => s.startsWith('eyJ')).length).toBeGreaterThanOrEqual(3);
    expect(secrets.some((s) => s.startsWith('SharedAccessSignature '))).toBe(true);
    expectNoneIn(diagnosis, secrets);
  });

  it('bearer: the plain access token the cluster refused', async () => {
    const { diagnosis, secrets } = await run({ authScheme: 'bearer' });
    expect(diagnosis.exitCode).toBe(3);
    expectNoneIn(diagnosis, secrets);
  });

  it('Token mode: the service-account token', async () => {
    const { diagnosis, secrets } = await run({ token: emulator.env.ARCPROXY_EMULATOR_SA_TOKEN! });
    expect(diagnosis.exitCode).toBe(0);
    expectNoneIn(diagnosis, secrets);
  });
});
