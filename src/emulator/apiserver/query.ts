/**
 * Query parameters read the way kube-apiserver's parameter codec reads them (apimachinery's
 * runtime string conversions, used for ListOptions, PodLogOptions, PodExecOptions and
 * PodPortForwardOptions):
 * - a boolean is false only when absent, "0" or "false" in any case; anything else is true
 *   (Convert_Slice_string_To_bool), so the Python client's `watch=True` is a watch;
 * - an integer is Go's strconv.ParseInt(v, 10, 64); a bad one is a 400 BadRequest whose message
 *   is Go's error text;
 * - port-forward ports are comma-separated strconv.ParseUint(v, 10, 16).
 * Only the first value of a repeated parameter counts, as in Go.
 */

/** A query the apiserver refuses: its 400 BadRequest message. */
export class QueryError extends Error {}

/** The parameter's boolean value (Convert_Slice_string_To_bool). */
export function queryBool(query: URLSearchParams, name: string): boolean {
  const v = query.get(name);
  return v !== null && v !== '0' && v.toLowerCase() !== 'false';
}

/** Go's %q of a string, as in strconv's error messages (JSON quoting agrees for printable text). */
const goQuote = (s: string): string => JSON.stringify(s);

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** strconv.ParseInt(raw, 10, 64), throwing Go's error text. */
function parseInt64(raw: string): number {
  if (!/^[+-]?\d+$/.test(raw)) throw new QueryError(`strconv.ParseInt: parsing ${goQuote(raw)}: invalid syntax`);
  const big = BigInt(raw);
  if (big < INT64_MIN || big > INT64_MAX) throw new QueryError(`strconv.ParseInt: parsing ${goQuote(raw)}: value out of range`);
  return Number(big);
}

/**
 * The named integer parameters, in the order given (the order of the options struct's fields:
 * the first bad one is the one reported). Absent ones are left out; present but empty is an error.
 */
export function queryInts<N extends string>(query: URLSearchParams, names: readonly N[]): Partial<Record<N, number>> {
  const out: Partial<Record<N, number>> = {};
  for (const name of names) {
    const raw = query.get(name);
    if (raw !== null) out[name] = parseInt64(raw);
  }
  return out;
}

/** ListOptions' integers (list and watch). */
export const LIST_INTS = ['timeoutSeconds', 'limit'] as const;
/** PodLogOptions' integers. */
export const LOG_INTS = ['sinceSeconds', 'tailLines', 'limitBytes'] as const;

/** PodPortForwardOptions.ports: every `ports` value, each a comma-separated list (Convert_Slice_string_To_Slice_int32). */
export function queryPorts(query: URLSearchParams): number[] {
  const ports: number[] = [];
  for (const value of query.getAll('ports')) {
    for (const v of value.split(',')) {
      if (!/^\d+$/.test(v)) throw new QueryError(`cannot convert to []int32: strconv.ParseUint: parsing ${goQuote(v)}: invalid syntax`);
      const n = Number(v);
      if (n > 65535) throw new QueryError(`cannot convert to []int32: strconv.ParseUint: parsing ${goQuote(v)}: value out of range`);
      ports.push(n);
    }
  }
  return ports;
}
