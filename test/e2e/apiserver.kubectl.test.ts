/**
 * Real kubectl (every binary on this machine) against the emulated apiserver's REST core:
 * discovery, Table and JSON output, watch, logs -f, auth whoami / can-i, RBAC Forbidden, namespaces.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createApiServer, type ApiServer } from '../../src/emulator/apiserver/index.js';
import { defaultSeed, type SeedKubernetes } from '../../src/emulator/seed.js';
import { createCertificateAuthority, issueServerCertificate } from '../../src/pki/certs.js';
import { writeDirectKubeconfig } from '../helpers/direct-kubeconfig.js';
import { expectedGeneratedLog } from '../helpers/generated-log.js';
import { availableKubectls, runKubectl, spawnKubectl, type KubectlBinary, type LongRunningKubectl } from '../helpers/kubectl.js';

const KUBECTL_TIMEOUT_MS = 20_000;
/** A generated log (seed logBytes) of kube-system/generated-log: not a whole number of lines. */
const GENERATED_SIZE = 3 * 1024 * 1024 + 11;
const kubectls = availableKubectls();

let dir: string;
let kubeconfig: string;
let server: ApiServer;
const running = new Set<LongRunningKubectl>();

function demoKubernetes(): SeedKubernetes {
  return defaultSeed().resourceGroups[0]!.clusters.find((c) => c.name === 'demo')!.kubernetes!;
}

beforeAll(async () => {
  const kubernetes = demoKubernetes();
  kubernetes.pods.push({ namespace: 'kube-system', name: 'generated-log', logBytes: GENERATED_SIZE, echoPorts: [] });
  const tokenOf = (name: string) => kubernetes.serviceAccounts.find((sa) => sa.name === name)!.token;
  const ca = await createCertificateAuthority('apiserver-e2e-ca');
  const tls = await issueServerCertificate(ca, { commonName: 'localhost', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
  server = await createApiServer({ kubernetes, tls });
  dir = await mkdtemp(join(tmpdir(), 'arcproxy-apiserver-e2e-'));
  kubeconfig = join(dir, 'kubeconfig');
  await writeDirectKubeconfig(kubeconfig, {
    server: server.url,
    ca: ca.cert,
    contexts: [
      { name: 'admin', token: tokenOf('demo-admin') },
      { name: 'nobody', token: tokenOf('demo-nobody') },
    ],
  });
});

afterAll(async () => {
  await server?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

afterEach(async () => {
  await Promise.all([...running].map((k) => k.kill()));
  running.clear();
});

if (kubectls.length === 0) it.skip('no kubectl binary on this machine', () => undefined);

describe.each(kubectls.map((k) => [k.label, k] as const))('kubectl %s', (label, bin: KubectlBinary) => {
  let testNo = 0;
  // A fresh discovery cache per test: every test exercises discovery itself.
  const run = (args: string[]) => runKubectl(bin, args, { kubeconfig, cacheDir: join(dir, `cache-${label}-${++testNo}`), timeoutMs: KUBECTL_TIMEOUT_MS });
  const start = (args: string[]) => {
    const k = spawnKubectl(bin, args, { kubeconfig, cacheDir: join(dir, `cache-${label}-${++testNo}`) });
    running.add(k);
    return k;
  };

  it('get pods prints the server-side table', async () => {
    const r = await run(['get', 'pods']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE$/);
    for (const name of ['hello-0', 'hello-1', 'hello-2']) {
      expect(
        lines.some((l) => new RegExp(`^${name}\\s+1/1\\s+Running\\s+0\\s+\\d+s$`).test(l)),
        `${name} row in\n${r.stdout}`,
      ).toBe(true);
    }
  });

  it('get pods -A adds the NAMESPACE column from the row objects', async () => {
    const r = await run(['get', 'pods', '-A']);
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')[0]).toMatch(/^NAMESPACE\s+NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE$/);
    expect(r.stdout).toMatch(/^default\s+hello-1\s+1\/1\s+Running\s/m);
  });

  it('get pods -o json lists the pods as a List', async () => {
    const r = await run(['get', 'pods', '-o', 'json']);
    expect(r.code).toBe(0);
    const list = JSON.parse(r.stdout) as { kind: string; items: { kind: string; metadata: { name: string; namespace: string }; status: { phase: string } }[] };
    expect(list.kind).toBe('List');
    const names = list.items.map((i) => i.metadata.name);
    expect(names).toEqual(expect.arrayContaining(['hello-0', 'hello-1', 'hello-2']));
    for (const item of list.items) {
      expect(item.kind).toBe('Pod');
      expect(item.metadata.namespace).toBe('default');
      expect(item.status.phase).toBe('Running');
    }
  });

  it('get pods -w prints the list, then pods created during the watch', async () => {
    const watcher = start(['get', 'pods', '-w']);
    await watcher.waitFor(/^hello-2\s+1\/1\s+Running/m, KUBECTL_TIMEOUT_MS);
    const name = `watched-${label.replace(/\W/g, '')}-${testNo}`;
    await server.createPod('default', name);
    await watcher.waitFor(new RegExp(`^${name}\\s+1/1\\s+Running`, 'm'), KUBECTL_TIMEOUT_MS);
    expect(watcher.output()).not.toMatch(/error/i);
    // The watch resumed from the list's resourceVersion: no pod is reported twice.
    expect(watcher.output().match(/^hello-0\s/gm)).toHaveLength(1);
  });

  it('logs hello-0 prints the start-up lines', async () => {
    const r = await run(['logs', 'hello-0']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^hello from hello-0: starting\nhello from hello-0: listening on 8080\n/);
  });

  it('logs -f hello-0 keeps streaming new lines', async () => {
    // --tail=1 leaves at most one line of history, so the second "line N" must have been followed.
    const follower = start(['logs', '-f', '--tail=1', 'hello-0']);
    const first = await follower.waitFor(/hello from hello-0: line (\d+)\n/, KUBECTL_TIMEOUT_MS);
    await follower.waitFor(new RegExp(`hello from hello-0: line ${Number(first[1]) + 1}\\n`), KUBECTL_TIMEOUT_MS);
    expect(follower.output()).not.toContain('starting');
  });

  it('logs prints a generated log byte for byte; --tail and --limit-bytes cut it', async () => {
    const whole = expectedGeneratedLog(GENERATED_SIZE);
    const all = await run(['logs', '-n', 'kube-system', 'generated-log']);
    expect(all.code).toBe(0);
    expect(all.stdout.length).toBe(GENERATED_SIZE);
    expect(all.stdout === whole, 'the log as generated').toBe(true);
    const cut = await run(['logs', '-n', 'kube-system', 'generated-log', '--tail=2', '--limit-bytes=150']);
    expect(cut.code).toBe(0);
    expect(cut.stdout).toBe(
      whole
        .split(/(?<=\n)/)
        .slice(-2)
        .join('')
        .slice(0, 150),
    );
  });

  it('run creates a pod that get and delete then see', async () => {
    const name = `run-${label.replace(/\W/g, '')}`;
    const created = await run(['run', name, '--image=registry.k8s.io/pause:3.10', '--restart=Never']);
    expect(created.stderr).toBe('');
    expect(created.stdout.trim()).toBe(`pod/${name} created`);
    const got = await run(['get', 'pod', name, '-o', 'jsonpath={.metadata.name} {.status.phase}']);
    expect(got.stdout).toBe(`${name} Running`);
    const deleted = await run(['delete', 'pod', name]);
    // 1.35 adds " from default namespace".
    expect(deleted.stdout.trim()).toMatch(new RegExp(`^pod "${name}" deleted( from default namespace)?$`));
    const gone = await run(['get', 'pod', name]);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toContain(`Error from server (NotFound): pods "${name}" not found`);
  });

  it('create -f --validate=false creates the pod in the manifest', async () => {
    const name = `manifest-${label.replace(/\W/g, '')}`;
    const manifest = join(dir, `${name}.yaml`);
    await writeFile(
      manifest,
      `apiVersion: v1\nkind: Pod\nmetadata:\n  name: ${name}\n  labels: {suite: e2e}\nspec:\n  containers:\n  - name: web\n    image: nginx\n    ports: [{containerPort: 80}]\n`,
    );
    const created = await run(['create', '-f', manifest, '--validate=false']);
    expect(created.stderr).toBe('');
    expect(created.stdout.trim()).toBe(`pod/${name} created`);
    const got = await run(['get', 'pods', '-l', 'suite=e2e', '-o', 'jsonpath={.items[*].metadata.name}']);
    expect(got.stdout.split(' ')).toContain(name);
  });

  it('auth whoami prints the service account', async () => {
    const r = await run(['auth', 'whoami']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Username\s+system:serviceaccount:default:demo-admin/);
    expect(r.stdout).toMatch(/Groups\s+\[system:serviceaccounts system:serviceaccounts:default system:authenticated\]/);
  });

  it('auth can-i list pods: yes for demo-admin, no for demo-nobody', async () => {
    const admin = await run(['auth', 'can-i', 'list', 'pods']);
    expect(admin.stdout.trim()).toBe('yes');
    expect(admin.code).toBe(0);
    const nobody = await run(['--context=nobody', 'auth', 'can-i', 'list', 'pods']);
    expect(nobody.stdout.trim()).toBe('no');
    expect(nobody.code).toBe(1);
  });

  it('get pods as demo-nobody prints the Forbidden message', async () => {
    const r = await run(['--context=nobody', 'get', 'pods']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(
      'Error from server (Forbidden): pods is forbidden: User "system:serviceaccount:default:demo-nobody" cannot list resource "pods" in API group "" in the namespace "default"',
    );
  });

  it('get ns lists the namespaces', async () => {
    const r = await run(['get', 'ns']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^NAME\s+STATUS\s+AGE$/);
    expect(
      lines
        .slice(1)
        .map((l) => l.split(/\s+/)[0])
        .sort(),
    ).toEqual(['default', 'kube-system']);
    expect(lines.slice(1).every((l) => /\sActive\s/.test(l))).toBe(true);
  });
});
