/**
 * The self-review APIs: SelfSubjectReview (`kubectl auth whoami`), SelfSubjectAccessReview
 * (`kubectl auth can-i`) and SelfSubjectRulesReview (`kubectl auth can-i --list`). Requests may be
 * JSON or protobuf; answers are JSON, which kubectl accepts.
 */
import type { ServerResponse } from 'node:http';
import type { UserInfo } from './types.js';
import { VIEW_RULES, VIEW_VERBS, type Identities } from './identity.js';
import { sendJson } from './http.js';
import { sendStatus } from './status.js';
import { decodeAccessReviewSpec, unwrapEnvelope, type AccessReviewSpec } from './protobuf.js';

/** Paths every authenticated caller may GET, whatever its bindings. */
const DISCOVERY_PATH = /^\/(api|apis|version|healthz|livez|readyz|openapi)(\/|$)/;

export function selfSubjectReview(res: ServerResponse, user: UserInfo, version: string, now: number): void {
  sendJson(res, 201, {
    kind: 'SelfSubjectReview',
    apiVersion: `authentication.k8s.io/${version}`,
    metadata: { creationTimestamp: new Date(now).toISOString() },
    status: { userInfo: { username: user.username, ...(user.uid ? { uid: user.uid } : {}), groups: user.groups } },
  });
}

/** Reads the review's spec from a protobuf (`k8s\0` envelope) or JSON body. */
function parseAccessReviewSpec(body: Buffer): AccessReviewSpec {
  const envelope = unwrapEnvelope(body);
  if (envelope) return decodeAccessReviewSpec(envelope);
  return (JSON.parse(body.toString('utf8')) as { spec?: AccessReviewSpec }).spec ?? {};
}

function accessReviewAllowed(identities: Identities, user: UserInfo, spec: AccessReviewSpec): boolean {
  const ra = spec.resourceAttributes;
  if (ra) {
    return identities.allowed(user, {
      verb: ra.verb ?? '',
      group: ra.group ?? '',
      resource: ra.resource ?? '',
      ...(ra.subresource ? { subresource: ra.subresource } : {}),
      ...(ra.namespace ? { namespace: ra.namespace } : {}),
      ...(ra.name ? { name: ra.name } : {}),
    });
  }
  const nra = spec.nonResourceAttributes;
  if (!nra) return false;
  return identities.roleOf(user) === 'cluster-admin' || (nra.verb === 'get' && DISCOVERY_PATH.test(nra.path ?? ''));
}

export function selfSubjectAccessReview(res: ServerResponse, identities: Identities, user: UserInfo, body: Buffer): void {
  let spec: AccessReviewSpec;
  try {
    spec = parseAccessReviewSpec(body);
  } catch {
    return sendStatus(res, 400, 'BadRequest', 'cannot decode the SelfSubjectAccessReview');
  }
  const allowed = accessReviewAllowed(identities, user, spec);
  const role = identities.roleOf(user);
  sendJson(res, 201, {
    kind: 'SelfSubjectAccessReview',
    apiVersion: 'authorization.k8s.io/v1',
    metadata: { creationTimestamp: null },
    spec,
    status: { allowed, ...(allowed && role !== 'none' ? { reason: `RBAC: allowed by ClusterRoleBinding to ClusterRole "${role}"` } : {}) },
  });
}

export function selfSubjectRulesReview(res: ServerResponse, identities: Identities, user: UserInfo, namespace: string | undefined): void {
  const role = identities.roleOf(user);
  const roleRules =
    role === 'cluster-admin'
      ? [{ verbs: ['*'], apiGroups: ['*'], resources: ['*'] }]
      : role === 'view'
        ? Object.entries(VIEW_RULES).map(([group, resources]) => ({ verbs: [...VIEW_VERBS], apiGroups: [group], resources: [...resources] }))
        : [];
  sendJson(res, 201, {
    kind: 'SelfSubjectRulesReview',
    apiVersion: 'authorization.k8s.io/v1',
    metadata: { creationTimestamp: null },
    spec: namespace ? { namespace } : {},
    status: {
      resourceRules: [
        ...roleRules,
        { verbs: ['create'], apiGroups: ['authorization.k8s.io'], resources: ['selfsubjectaccessreviews', 'selfsubjectrulesreviews'] },
        { verbs: ['create'], apiGroups: ['authentication.k8s.io'], resources: ['selfsubjectreviews'] },
      ],
      nonResourceRules: [
        ...(role === 'cluster-admin' ? [{ verbs: ['*'], nonResourceURLs: ['*'] }] : []),
        {
          verbs: ['get'],
          nonResourceURLs: ['/api', '/api/*', '/apis', '/apis/*', '/healthz', '/livez', '/openapi', '/openapi/*', '/readyz', '/version', '/version/'],
        },
      ],
      incomplete: false,
    },
  });
}
