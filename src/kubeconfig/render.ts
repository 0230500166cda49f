/** A standalone kubeconfig holding only arcproxy's entry (for `--file -` and run mode's temporary file). */
import { parseKubeconfig, stringifyKubeconfig } from './document.js';
import { applyEntry } from './merge.js';
import { assertValidEntry, type ProxyKubeconfigEntry } from './entry.js';

export function renderKubeconfig(entry: ProxyKubeconfigEntry): string {
  assertValidEntry(entry, '-');
  // Built by the same code as a merge into an empty file, so both outputs agree.
  const kc = parseKubeconfig('', '-');
  applyEntry(kc, entry, true, '-');
  return stringifyKubeconfig(kc);
}
