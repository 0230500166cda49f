/**
 * Jittered exponential backoff: attempt n waits a random time between half and all of
 * min(maxMs, initialMs * factor^n). The jitter keeps many clients (or many pooled dials) from
 * retrying in lockstep after one shared failure, such as a relay drop.
 */
export interface BackoffPolicy {
  initialMs: number;
  maxMs: number;
  /** Growth per attempt. Default 2. */
  factor?: number;
}

/** Delay before retry number `attempt` (0 = first retry). `random` returns [0, 1). */
export function backoffDelay(attempt: number, policy: BackoffPolicy, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxMs, policy.initialMs * (policy.factor ?? 2) ** Math.max(0, attempt));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}
