/**
 * The few validations clients trip over, with the apiserver's wording: object names, a workload's
 * selector and containers, a pod's containers. Returns the field errors ("" when valid); the
 * caller turns them into the 422 Invalid Status.
 */
import type { KubeObject } from './types.js';

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

const SUBDOMAIN_MESSAGE =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const LABEL_MESSAGE =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";

/** Kinds whose names are DNS-1123 labels rather than subdomains. */
const LABEL_NAMED = new Set(['Namespace', 'Service']);

function containerErrors(spec: KubeObject | undefined, path: string): string[] {
  const containers: unknown = spec?.containers;
  if (!Array.isArray(containers) || containers.length === 0) return [`${path}.containers: Required value`];
  const errors: string[] = [];
  containers.forEach((c: KubeObject, i) => {
    if (!c?.name) errors.push(`${path}.containers[${i}].name: Required value`);
    if (!c?.image) errors.push(`${path}.containers[${i}].image: Required value`);
  });
  return errors;
}

function selectorMatches(selector: KubeObject | undefined, labels: Record<string, string>): boolean {
  const match: Record<string, string> = selector?.matchLabels ?? {};
  return Object.entries(match).every(([k, v]) => labels[k] === v);
}

function workloadErrors(object: KubeObject): string[] {
  const spec: KubeObject | undefined = object.spec;
  const errors: string[] = [];
  if (!spec?.selector) errors.push('spec.selector: Required value');
  const template: KubeObject | undefined = spec?.template;
  const labels: Record<string, string> = template?.metadata?.labels ?? {};
  if (spec?.selector && !selectorMatches(spec.selector, labels)) {
    errors.push(`spec.template.metadata.labels: Invalid value: ${JSON.stringify(labels)}: \`selector\` does not match template \`labels\``);
  }
  return [...errors, ...containerErrors(template?.spec, 'spec.template.spec')];
}

/** Field errors of an object about to be stored. */
export function validate(kind: string, object: KubeObject): string[] {
  const name = String(object.metadata?.name ?? '');
  const errors: string[] = [];
  if (LABEL_NAMED.has(kind) ? !DNS1123_LABEL.test(name) || name.length > 63 : !DNS1123_SUBDOMAIN.test(name) || name.length > 253) {
    errors.push(`metadata.name: Invalid value: ${JSON.stringify(name)}: ${LABEL_NAMED.has(kind) ? LABEL_MESSAGE : SUBDOMAIN_MESSAGE}`);
  }
  if (kind === 'Deployment' || kind === 'ReplicaSet' || kind === 'StatefulSet' || kind === 'DaemonSet') errors.push(...workloadErrors(object));
  if (kind === 'Pod') errors.push(...containerErrors(object.spec, 'spec'));
  if (kind === 'Job' || kind === 'CronJob') {
    const template = kind === 'Job' ? object.spec?.template : object.spec?.jobTemplate?.spec?.template;
    errors.push(...containerErrors(template?.spec, kind === 'Job' ? 'spec.template.spec' : 'spec.jobTemplate.spec.template.spec'));
  }
  if ((kind === 'ConfigMap' || kind === 'Secret') && object.data !== undefined && (typeof object.data !== 'object' || Array.isArray(object.data))) {
    errors.push('data: Invalid value: must be a map');
  }
  return errors;
}

/** The 422 message: `Deployment.apps "web" is invalid: [a, b]` (one error without brackets). */
export function invalidMessage(kind: string, group: string, name: string, errors: string[]): string {
  const gk = group ? `${kind}.${group}` : kind;
  return `${gk} "${name}" is invalid: ${errors.length === 1 ? errors[0] : `[${errors.join(', ')}]`}`;
}
