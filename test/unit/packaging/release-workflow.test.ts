/**
 * .github/workflows/release.yml cannot run here: this checks that it parses and holds what a
 * release needs — a v* tag trigger, tests before anything is published, npm publish with
 * provenance (and the id-token permission it needs), and a single executable per platform.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ROOT } from '../../helpers/arcproxy.js';

interface Step {
  run?: string;
  uses?: string;
  with?: Record<string, unknown>;
  env?: Record<string, string>;
}
interface Job {
  needs?: string | string[];
  'runs-on': string;
  permissions?: Record<string, string>;
  strategy?: { matrix: { include: Array<{ runner: string; target: string }> } };
  steps: Step[];
}
interface Workflow {
  on: { push: { tags: string[]; branches?: string[] } };
  permissions: Record<string, string>;
  jobs: Record<string, Job>;
}

const workflow = parse(readFileSync(join(ROOT, '.github/workflows/release.yml'), 'utf8'), { strict: true, uniqueKeys: true }) as Workflow;
const jobs = workflow.jobs;
const runs = (job: Job): string[] => job.steps.flatMap((s) => (s.run ? [s.run] : []));
const needs = (job: Job): string[] => (Array.isArray(job.needs) ? job.needs : job.needs ? [job.needs] : []);

describe('the release workflow', () => {
  it('runs on a pushed v* tag only, read-only by default', () => {
    expect(workflow.on.push.tags).toEqual(['v*']);
    expect(workflow.on.push.branches).toBeUndefined();
    expect(workflow.permissions).toEqual({ contents: 'read' });
  });

  it('tests before it builds or publishes, and checks the tag against package.json', () => {
    const test = jobs.test!;
    expect(runs(test)).toEqual(expect.arrayContaining(['npm ci', 'npm run build', 'npm run lint', 'npm test']));
    expect(runs(test).some((r) => r.includes('GITHUB_REF_NAME') && r.includes('package.json'))).toBe(true);
    expect(needs(jobs.executables!)).toContain('test');
    for (const name of ['publish-npm', 'github-release']) expect(needs(jobs[name]!)).toEqual(expect.arrayContaining(['test', 'executables']));
  });

  it('publishes to npm with provenance, which needs the id-token permission', () => {
    const publish = jobs['publish-npm']!;
    expect(publish.permissions).toMatchObject({ 'id-token': 'write' });
    const step = publish.steps.find((s) => s.run?.startsWith('npm publish'));
    expect(step?.run).toBe('npm publish --provenance --access public');
    expect(step?.env?.NODE_AUTH_TOKEN).toMatch(/secrets\.NPM_TOKEN/);
    const node = publish.steps.find((s) => s.uses?.startsWith('actions/setup-node'));
    expect(node?.with?.['registry-url']).toBe('https://registry.npmjs.org');
  });

  it('builds the single executable on linux, macOS and Windows for x64 and arm64, and attaches them to the release', () => {
    const matrix = jobs.executables!.strategy!.matrix.include;
    expect(matrix.map((m) => m.target).sort()).toEqual(['darwin-arm64', 'darwin-x64', 'linux-arm64', 'linux-x64', 'win32-arm64', 'win32-x64']);
    expect(new Set(matrix.map((m) => m.runner)).size).toBe(matrix.length);
    expect(runs(jobs.executables!)).toContain('node scripts/build-sea.mjs');
    const release = jobs['github-release']!;
    expect(release.permissions).toMatchObject({ contents: 'write' });
    expect(runs(release).some((r) => r.startsWith('gh release create') && r.includes('out/*'))).toBe(true);
  });
});
