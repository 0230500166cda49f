/**
 * /openapi/v2 and /openapi/v3 as clients fetch them before `kubectl apply`, `kubectl diff` and
 * helm install. No published package ships Kubernetes' own schemas in a form this project may
 * depend on (see docs/emulator.md), so built-in kinds are listed without schemas: kubectl and helm
 * then skip client-side schema validation for them, as they do for a kind a cluster publishes no
 * schema for. CustomResourceDefinitions' own `openAPIV3Schema` are served in their group's v3
 * document, as the apiserver does. /openapi/v2 answers the protobuf client-go asks for
 * (`application/com.github.proto-openapi.spec.v2.v1.0+protobuf`) or JSON.
 */
import { createHash } from 'node:crypto';
import type { ResourceRegistry } from './resource-table.js';
import type { ObjectStore } from './store.js';
import type { KubeObject } from './types.js';

const PROTOBUF = 'application/com.github.proto-openapi.spec.v2';

/** openapi_v2.Document with only `swagger: "2.0"` (field 1) and `info` (field 2: title 1, version 2). */
function v2Protobuf(version: string): Buffer {
  const str = (field: number, s: string) => {
    const b = Buffer.from(s);
    return Buffer.concat([Buffer.from([(field << 3) | 2, b.length]), b]);
  };
  const info = Buffer.concat([str(1, 'Kubernetes'), str(2, version)]);
  return Buffer.concat([str(1, '2.0'), Buffer.from([(2 << 3) | 2, info.length]), info]);
}

/** The group-version path of the v3 discovery root: `api/v1`, `apis/apps/v1`. */
const gvPath = (group: string, version: string) => (group ? `apis/${group}/${version}` : `api/${version}`);

export interface OpenApiAnswer {
  contentType: string;
  body: Buffer;
}

export class OpenApi {
  readonly #registry: ResourceRegistry;
  readonly #store: ObjectStore;
  readonly #version: string;

  constructor(registry: ResourceRegistry, store: ObjectStore, version: string) {
    this.#registry = registry;
    this.#store = store;
    this.#version = version;
  }

  /** The document at `path` (/openapi/v2, /openapi/v3, /openapi/v3/apis/...), or undefined. */
  serve(path: string, accept: string | undefined): OpenApiAnswer | undefined {
    if (path === '/openapi/v2') {
      if ((accept ?? '').includes(PROTOBUF)) return { contentType: `${PROTOBUF}.v1.0+protobuf`, body: v2Protobuf(this.#version) };
      return json({ swagger: '2.0', info: { title: 'Kubernetes', version: this.#version }, paths: {}, definitions: {} });
    }
    if (path === '/openapi/v3') return json({ paths: this.#root() });
    const m = /^\/openapi\/v3\/(api\/[^/]+|apis\/[^/]+\/[^/]+)$/.exec(path);
    if (!m) return undefined;
    const doc = this.#groupVersion(m[1]!);
    return doc ? json(doc) : undefined;
  }

  #root(): Record<string, { serverRelativeURL: string }> {
    const out: Record<string, { serverRelativeURL: string }> = {};
    for (const def of this.#registry.all()) {
      const p = gvPath(def.group, def.version);
      if (out[p]) continue;
      const doc = this.#groupVersion(p)!;
      const hash = createHash('sha512').update(JSON.stringify(doc)).digest('hex').slice(0, 128).toUpperCase();
      out[p] = { serverRelativeURL: `/openapi/v3/${p}?hash=${hash}` };
    }
    return out;
  }

  #groupVersion(p: string): KubeObject | undefined {
    const defs = this.#registry.all().filter((d) => gvPath(d.group, d.version) === p);
    if (defs.length === 0) return undefined;
    const schemas: KubeObject = {};
    for (const def of defs.filter((d) => d.custom)) {
      const crd = this.#store
        .list('apiextensions.k8s.io/customresourcedefinitions')
        .find((c) => c.object.spec?.group === def.group && c.object.spec?.names?.plural === def.resource);
      const version = ((crd?.object.spec?.versions ?? []) as KubeObject[]).find((v) => v.name === def.version);
      const schema: KubeObject | undefined = version?.schema?.openAPIV3Schema;
      if (!schema) continue;
      const reversed = def.group.split('.').reverse().join('.');
      schemas[`${reversed}.${def.version}.${def.kind}`] = {
        ...schema,
        'x-kubernetes-group-version-kind': [{ group: def.group, version: def.version, kind: def.kind }],
      };
    }
    return { openapi: '3.0.0', info: { title: 'Kubernetes', version: this.#version }, paths: {}, components: { schemas } };
  }
}

function json(doc: unknown): OpenApiAnswer {
  return { contentType: 'application/json', body: Buffer.from(JSON.stringify(doc)) };
}
