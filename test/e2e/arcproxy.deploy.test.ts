/**
 * The README's CI example, proved: through the real arcproxy executable in run mode
 * (`arcproxy -- kubectl ...`), real kubectl applies a multi-document manifest twice (the second
 * time unchanged), waits for the rollout, diffs without creating anything, and helm (from the same
 * npm package as kubectl) installs and upgrades a chart made here, twice, then lists it.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Emulator } from '../../src/emulator/index.js';
import { arcproxyEnv, startTestEmulator } from '../helpers/emulator.js';
import { ROOT, runArcproxy, tempHome } from '../helpers/arcproxy.js';
import { availableKubectls } from '../helpers/kubectl.js';

const kubectls = availableKubectls();
const HELM = join(ROOT, '.tools/helm/helm');
if (!existsSync(HELM)) {
  if (process.env.CI) throw new Error('helm missing in CI: run scripts/install-kubectl.sh (it installs helm beside kubectl)');
  process.stderr.write(`\n[WARN] helm not found at ${HELM}: the helm steps are skipped\n`);
}

function manifest(image: string): string {
  return `apiVersion: v1
kind: ConfigMap
metadata:
  name: web-config
data:
  greeting: hello
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: { app: web }
spec:
  replicas: 2
  selector:
    matchLabels: { app: web }
  template:
    metadata:
      labels: { app: web }
    spec:
      containers:
        - name: web
          image: ${image}
          ports: [{ containerPort: 8080 }]
---
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector: { app: web }
  ports: [{ port: 80, targetPort: 8080 }]
`;
}

const CHART = {
  'Chart.yaml': 'apiVersion: v2\nname: demo-app\nversion: 0.1.0\n',
  'values.yaml': 'image: nginx:1.27\nreplicas: 1\n',
  'templates/app.yaml': `apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-cfg
data:
  image: {{ .Values.image | quote }}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}
spec:
  replicas: {{ .Values.replicas }}
  selector:
    matchLabels: { app: {{ .Release.Name }} }
  template:
    metadata:
      labels: { app: {{ .Release.Name }} }
    spec:
      containers:
        - name: app
          image: {{ .Values.image }}
`,
};

let emulator: Emulator;
let home: { dir: string; cleanup: () => Promise<void> };
let work: string;

beforeAll(async () => {
  emulator = await startTestEmulator();
  home = await tempHome();
  work = await mkdtemp(join(tmpdir(), 'arcproxy-deploy-'));
  await writeFile(join(work, 'app.yaml'), manifest('nginx:1.27'));
  await writeFile(join(work, 'app-next.yaml'), manifest('nginx:1.29'));
  await writeFile(join(work, 'extra.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: only-in-diff\ndata: { a: "1" }\n');
  await mkdir(join(work, 'chart/templates'), { recursive: true });
  for (const [file, text] of Object.entries(CHART)) await writeFile(join(work, 'chart', file), text);
});

afterAll(async () => {
  await emulator?.close();
  await home?.cleanup();
  if (work) await rm(work, { recursive: true, force: true });
});

/** `arcproxy -n demo -g demo-rg -- <tool> ...`: run mode, as a CI step would. */
function through(tool: string, args: string[]) {
  return runArcproxy(['-n', 'demo', '-g', 'demo-rg', '--', tool, ...args], arcproxyEnv(emulator, home.dir), 120_000);
}

describe.each(kubectls)('kubectl $label through arcproxy run mode', (bin) => {
  const ns = `ci-${bin.label.replace(/\W/g, '')}`;
  const kubectl = (...args: string[]) => through(bin.path, ['--cache-dir', join(work, `cache-${ns}`), '-n', ns, ...args]);

  it('applies a multi-document manifest twice, the second time unchanged, and waits for the rollout', async () => {
    const created = await kubectl('create', 'namespace', ns);
    expect(created.code, created.stderr).toBe(0);
    const first = await kubectl('apply', '-f', join(work, 'app.yaml'));
    expect(first.stderr).not.toMatch(/error/i);
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/configmap\/web-config created[\s\S]*deployment.apps\/web created[\s\S]*service\/web created/);
    const second = await kubectl('apply', '-f', join(work, 'app.yaml'));
    expect(second.code).toBe(0);
    expect(second.stdout).toMatch(/configmap\/web-config unchanged[\s\S]*deployment.apps\/web unchanged[\s\S]*service\/web unchanged/);
    const rollout = await kubectl('rollout', 'status', 'deployment/web', '--timeout=60s');
    expect(rollout.code).toBe(0);
    expect(rollout.stdout).toContain('deployment "web" successfully rolled out');
    const images = await kubectl('get', 'pods', '-l', 'app=web', '-o', 'jsonpath={.items[*].spec.containers[0].image}');
    expect(images.stdout.trim().split(' ')).toEqual(['nginx:1.27', 'nginx:1.27']);
    const gen = await kubectl('get', 'deployment', 'web', '-o', 'jsonpath={.metadata.generation}');
    expect(gen.stdout.trim()).toBe('1');
  });

  it('diffs without changing or creating anything', async () => {
    const diff = await kubectl('diff', '-f', join(work, 'app-next.yaml'), '-f', join(work, 'extra.yaml'));
    expect(diff.code, diff.stderr).toBe(1); // 1: differences found
    expect(diff.stdout).toMatch(/^\+ +(- )?image: nginx:1\.29$/m);
    expect(diff.stdout).toContain('only-in-diff');
    const image = await kubectl('get', 'deployment', 'web', '-o', 'jsonpath={.spec.template.spec.containers[0].image}');
    expect(image.stdout.trim()).toBe('nginx:1.27');
    const absent = await kubectl('get', 'configmap', 'only-in-diff');
    expect(absent.code).toBe(1);
    expect(absent.stderr).toContain('configmaps "only-in-diff" not found');
    const same = await kubectl('diff', '-f', join(work, 'app.yaml'));
    expect(same.code).toBe(0);
  });
});

describe.runIf(existsSync(HELM))('helm through arcproxy run mode', () => {
  const helm = (...args: string[]) => through(HELM, ['--namespace', 'default', ...args]);

  it('installs, then upgrades the same chart, and lists the release', async () => {
    const chart = join(work, 'chart');
    const install = await helm('upgrade', '--install', 'demo', chart, '--wait', '--timeout', '60s');
    expect(install.stderr).not.toMatch(/^Error/m);
    expect(install.code).toBe(0);
    expect(install.stdout).toContain('STATUS: deployed');
    const upgrade = await helm('upgrade', '--install', 'demo', chart, '--wait', '--timeout', '60s', '--set', 'image=nginx:1.28');
    expect(upgrade.code).toBe(0);
    expect(upgrade.stdout).toContain('REVISION: 2');
    const list = await helm('list', '-o', 'json');
    expect(list.code).toBe(0);
    expect(JSON.parse(list.stdout)).toEqual([expect.objectContaining({ name: 'demo', namespace: 'default', revision: '2', status: 'deployed' })]);
  });
});
