/** Request paths: /api/v1/... and /apis/{group}/{version}/... split into what they name. */

export interface ApiPath {
  /** "" for the core group. */
  group: string;
  version: string;
  /** Segments after the group version. */
  rest: string[];
}

export function parseApiPath(pathname: string): ApiPath | undefined {
  const seg = pathname.split('/').filter(Boolean).map(decodeURIComponent);
  if (seg[0] === 'api' && seg[1]) return { group: '', version: seg[1], rest: seg.slice(2) };
  if (seg[0] === 'apis' && seg[1] && seg[2]) return { group: seg[1], version: seg[2], rest: seg.slice(3) };
  return undefined;
}

export interface ResourceTarget {
  namespace?: string;
  resource: string;
  name?: string;
  subresource?: string;
  /** The legacy /watch/ prefix was used. */
  watchPath?: boolean;
}

const NAMESPACE_SUBRESOURCES = new Set(['status', 'finalize']);

/** namespaces/{ns}/{resource}[/{name}[/{sub}]] | {resource}[/{name}] | watch/... (legacy watch paths) */
export function resourceTarget(rest: string[]): ResourceTarget | undefined {
  if (rest[0] === 'watch') {
    const inner = resourceTarget(rest.slice(1));
    return inner && !inner.subresource ? { ...inner, watchPath: true } : undefined;
  }
  // namespaces/{name}/status and /finalize are the namespace's own subresources, not a resource in it.
  if (rest[0] === 'namespaces' && rest.length === 3 && NAMESPACE_SUBRESOURCES.has(rest[2]!))
    return { resource: 'namespaces', name: rest[1]!, subresource: rest[2]! };
  if (rest[0] === 'namespaces' && rest.length >= 3 && rest.length <= 5) {
    return { namespace: rest[1], resource: rest[2]!, ...(rest[3] ? { name: rest[3] } : {}), ...(rest[4] ? { subresource: rest[4] } : {}) };
  }
  if (rest.length === 1) return { resource: rest[0]! };
  if (rest.length === 2) return { resource: rest[0]!, name: rest[1] };
  if (rest.length === 3) return { resource: rest[0]!, name: rest[1]!, subresource: rest[2]! };
  return undefined;
}
