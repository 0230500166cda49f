/**
 * What the apiserver fills in on create (and keeps on update) for the kinds whose clients read it
 * back: a Service's ClusterIP and port defaults, workload replica counts and strategies, a Job's
 * selector. Only fields that clients or the controllers read; everything else stays as sent.
 */
import type { KubeObject } from './types.js';

const isObject = (v: unknown): v is KubeObject => typeof v === 'object' && v !== null && !Array.isArray(v);

export class Defaulter {
  #nextIp = 10;

  #clusterIp(): string {
    const n = this.#nextIp++;
    return `10.43.${Math.floor(n / 250) % 250}.${(n % 250) + 1}`;
  }

  /** Fills defaults into `object` (a fresh copy owned by the caller); `old` is the stored version on update. */
  apply(kind: string, object: KubeObject, old: KubeObject | undefined): void {
    const spec: KubeObject = isObject(object.spec) ? object.spec : undefined!;
    switch (kind) {
      case 'Service': {
        if (!spec) return;
        spec.type ??= 'ClusterIP';
        if (spec.type !== 'ExternalName') {
          spec.clusterIP ??= old?.spec?.clusterIP ?? this.#clusterIp();
          spec.clusterIPs ??= old?.spec?.clusterIPs ?? [spec.clusterIP];
          spec.ipFamilies ??= ['IPv4'];
          spec.ipFamilyPolicy ??= 'SingleStack';
          spec.internalTrafficPolicy ??= 'Cluster';
        }
        spec.sessionAffinity ??= 'None';
        for (const p of Array.isArray(spec.ports) ? (spec.ports as KubeObject[]) : []) {
          p.protocol ??= 'TCP';
          p.targetPort ??= p.port;
        }
        object.status ??= { loadBalancer: {} };
        return;
      }
      case 'Deployment':
        if (!spec) return;
        spec.replicas ??= 1;
        spec.revisionHistoryLimit ??= 10;
        spec.progressDeadlineSeconds ??= 600;
        spec.strategy ??= { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } };
        return;
      case 'StatefulSet':
        if (!spec) return;
        spec.replicas ??= 1;
        spec.podManagementPolicy ??= 'OrderedReady';
        spec.updateStrategy ??= { type: 'RollingUpdate', rollingUpdate: { partition: 0 } };
        spec.revisionHistoryLimit ??= 10;
        return;
      case 'ReplicaSet':
        if (spec) spec.replicas ??= 1;
        return;
      case 'Job': {
        if (!spec) return;
        spec.completions ??= 1;
        spec.parallelism ??= 1;
        spec.backoffLimit ??= 6;
        const uid = String(object.metadata.uid);
        if (!spec.selector && !old) {
          spec.selector = { matchLabels: { 'batch.kubernetes.io/controller-uid': uid } };
          const template = (spec.template ??= {}) as KubeObject;
          const meta = (template.metadata ??= {}) as KubeObject;
          meta.labels = {
            ...meta.labels,
            'batch.kubernetes.io/controller-uid': uid,
            'batch.kubernetes.io/job-name': object.metadata.name,
            'controller-uid': uid,
            'job-name': object.metadata.name,
          };
        }
        return;
      }
      case 'Secret':
        // stringData is write-only: merged into data, base64, as the apiserver does.
        if (isObject(object.stringData)) {
          const data: KubeObject = { ...object.data };
          for (const [k, v] of Object.entries(object.stringData)) data[k] = Buffer.from(String(v)).toString('base64');
          object.data = data;
        }
        delete object.stringData;
        object.type ??= 'Opaque';
        return;
      case 'Namespace':
        object.metadata.labels = { ...object.metadata.labels, 'kubernetes.io/metadata.name': object.metadata.name };
        object.spec ??= { finalizers: ['kubernetes'] };
        object.status = { phase: 'Active' };
        return;
      default:
    }
  }
}
