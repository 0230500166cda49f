/** The diagnose report: stage marks, the result line and exit code, and no secret in either format. */
import { describe, expect, it } from 'vitest';
import { renderDiagnosisJson, renderDiagnosisText } from '../../../src/cli/diagnose-report.js';
import type { Diagnosis, StageReport } from '../../../src/session/diagnose.js';

const jwt = (payload: Record<string, unknown>): string =>
  [{ alg: 'RS256', typ: 'JWT' }, payload].map((p) => Buffer.from(JSON.stringify(p)).toString('base64url')).join('.') + '.c2lnbmF0dXJlLWJ5dGVz';

const ACCESS_TOKEN = jwt({ aud: '6256c85f-0aad-4d50-b960-e6e9b21efe35', oid: 'someone' });
const SAS = 'SharedAccessSignature sr=http%3A%2F%2Fazgnrelay-eastus-l1.servicebus.windows.net%2Fhc&sig=SeCrEtSiGnAtUrE%2Bq%3D&se=1796524146&skn=sender';
const REFRESH = '0.AXkAsecret-refresh-token-value_123';
const COOKIE = 'session-cookie-value-42';

function diagnosis(stages: StageReport[], exitCode: number): Diagnosis {
  return {
    arcproxyVersion: '1.2.3',
    node: 'v20.20.2',
    platform: 'linux x64',
    cloud: 'AzureCloud',
    cluster: { name: 'demo', resourceGroup: 'demo-rg', subscription: '6f1d8c2a-3b4e-4a5f-8c9d-0e1f2a3b4c5d' },
    correlationId: '99008388-0b9d-4ede-9572-c48377342029',
    warnings: [],
    stages,
    exitCode,
  };
}

const ok = (id: StageReport['id'], title: string, details: Record<string, unknown> = {}): StageReport => ({
  id,
  title,
  status: 'ok',
  durationMs: 12.3,
  details,
});

describe('the diagnose report', () => {
  it('marks each stage, shows the first failure with its code and exit code, and the later ones as skipped', () => {
    const d = diagnosis(
      [
        ok('sign-in', 'Sign-in', { source: 'environment-secret' }),
        {
          id: 'relay',
          title: 'Relay: connect handshake',
          status: 'fail',
          durationMs: 5012,
          details: { attempts: [{ status: '404 Not Found', ms: 3 }] },
          error: { code: 'ARCPROXY_RELAY_NO_LISTENER', message: 'No listener is online.', exitCode: 8 },
        },
        { id: 'tunnel', title: 'Through the tunnel: GET /version', status: 'skipped', details: {}, skippedBecause: '"Relay: connect handshake" failed' },
      ],
      8,
    );
    const text = renderDiagnosisText(d);
    expect(text).toContain('arcproxy 1.2.3, Node.js v20.20.2, linux x64');
    expect(text).toMatch(/^OK {4}Sign-in {2}\(0\.012 s\)$/m);
    expect(text).toContain('      source: environment-secret');
    expect(text).toMatch(/^FAIL {2}Relay: connect handshake {2}\(5\.012 s\)$/m);
    expect(text).toContain('      error: ARCPROXY_RELAY_NO_LISTENER (exit 8)\n        No listener is online.');
    expect(text).toContain('        - status: 404 Not Found\n          ms: 3');
    expect(text).toMatch(/^SKIP {2}Through the tunnel: GET \/version: skipped, "Relay: connect handshake" failed$/m);
    expect(text.trimEnd().split('\n').at(-1)).toBe('result: FAIL at "Relay: connect handshake" (exit 8)');

    const json = JSON.parse(renderDiagnosisJson(d)) as { stages: StageReport[]; result: unknown };
    expect(json.stages.map((s) => s.status)).toEqual(['ok', 'fail', 'skipped']);
    expect(json.result).toEqual({ ok: false, exitCode: 8, failedStage: 'relay' });
  });

  it('says every stage passed when none failed', () => {
    const d = diagnosis([ok('sign-in', 'Sign-in'), ok('tunnel', 'Through the tunnel: GET /version')], 0);
    expect(renderDiagnosisText(d).trimEnd().split('\n').at(-1)).toBe('result: OK, every stage passed (exit 0)');
    expect(JSON.parse(renderDiagnosisJson(d)).result).toEqual({ ok: true, exitCode: 0 });
  });

  it('shows a body with line breaks as a block, and control characters as escapes', () => {
    const text = renderDiagnosisText(diagnosis([ok('tunnel', 'T', { response: { bodyPreview: 'line one\nline \u001b[2Jtwo' } })], 0));
    expect(text).toContain('      response:\n        bodyPreview: |\n          line one\n          line \\u001b[2Jtwo\n');
  });

  it('redacts every token, SAS, refresh token, cookie and Authorization value that reached it, in both formats', () => {
    const d = diagnosis(
      [
        ok('cluster-token', 'Token for the cluster', { note: `token was ${ACCESS_TOKEN}` }),
        ok('relay', 'Relay', { attempts: [{ headers: [`ServiceBusAuthorization: ${SAS}`, `Set-Cookie: ${COOKIE}`, 'Authorization: opaque-value'] }] }),
        {
          id: 'tunnel',
          title: 'Through the tunnel: GET /version',
          status: 'fail',
          durationMs: 1,
          details: {
            request: { headers: [`Authorization: Bearer ${ACCESS_TOKEN}`] },
            response: { bodyPreview: `{"refresh_token":"${REFRESH}","access_token":"${ACCESS_TOKEN}"}`, headers: [`x-echo: ${SAS}`] },
          },
          error: { code: 'ARCPROXY_CLUSTER_UNAUTHORIZED', message: `refused Bearer ${ACCESS_TOKEN} and refresh_token=${REFRESH}&x=1`, exitCode: 3 },
        },
      ],
      3,
    );
    d.warnings.push(`a warning naming ${SAS}`);
    for (const out of [renderDiagnosisText(d), renderDiagnosisJson(d)]) {
      for (const secret of [ACCESS_TOKEN, ACCESS_TOKEN.split('.')[1]!, 'SeCrEtSiGnAtUrE', REFRESH, COOKIE, 'opaque-value']) expect(out).not.toContain(secret);
      expect(out).toContain('[redacted');
      // What is not secret stays readable.
      expect(out).toContain('ARCPROXY_CLUSTER_UNAUTHORIZED');
      expect(out).toContain('x-echo: SharedAccessSignature [redacted]');
    }
  });
});
