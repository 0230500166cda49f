/**
 * How long a cut watch or `logs -f` keeps being resumed. A gap starts when the stream under it
 * is cut; every failed try (no tunnel, the agent offline, a 5xx) adds to the gap's outage time,
 * and tries are spaced with jittered backoff. The gap is over once the resumed stream delivers
 * something (an event, a log line) or has stayed up for `stableMs`: the next cut starts a new
 * gap with a full budget. A resumed stream that answers but is cut again before either does not
 * end the gap; only the time without a stream counts against the budget.
 */
import { backoffDelay, type BackoffPolicy } from '../tunnel/backoff.js';

export interface ResumePolicy {
  /** Outage time allowed in one gap before giving up. */
  outageBudgetMs: number;
  backoff: BackoffPolicy;
  /** A resumed stream up this long ends the gap even without a byte. */
  stableMs: number;
}

/**
 * 90 s of outage per gap: relay drops, credential renewals and an agent offline for a minute all
 * fit, with room for the agent to reconnect and the next try to find it.
 */
export const DEFAULT_RESUME_POLICY: ResumePolicy = { outageBudgetMs: 90_000, backoff: { initialMs: 250, maxMs: 2_000 }, stableMs: 10_000 };

export class ResumeBudget {
  readonly #policy: ResumePolicy;
  readonly #now: () => number;
  readonly #random: (() => number) | undefined;
  /** Outage time of the current gap, up to the start of the current outage. */
  #spentMs = 0;
  /** When the current outage began (no stream since), if there is one. */
  #downSince: number | undefined;
  /** When the current stream was answered, if one is up. */
  #upSince: number | undefined;
  #tries = 0;

  constructor(policy: ResumePolicy = DEFAULT_RESUME_POLICY, now: () => number = Date.now, random?: () => number) {
    this.#policy = policy;
    this.#now = now;
    this.#random = random;
  }

  /**
   * The stream was cut, or a try failed: the delay before the next try, or undefined when the
   * gap's outage has used up the budget. The first try after a cut goes at once.
   */
  down(): number | undefined {
    const now = this.#now();
    if (this.#upSince !== undefined && now - this.#upSince >= this.#policy.stableMs) this.#newGap();
    this.#upSince = undefined;
    this.#downSince ??= now;
    const left = this.#policy.outageBudgetMs - this.#spentMs - (now - this.#downSince);
    if (left <= 0) return undefined;
    const n = this.#tries++;
    return n === 0 ? 0 : Math.min(left, backoffDelay(n - 1, this.#policy.backoff, this.#random));
  }

  /** A resumed request was answered: the outage is over (the gap is not, yet). */
  up(): void {
    const now = this.#now();
    if (this.#downSince !== undefined) this.#spentMs += now - this.#downSince;
    this.#downSince = undefined;
    this.#upSince = now;
  }

  /** The stream delivered something: the gap is over. */
  progress(): void {
    if (this.#downSince === undefined) this.#newGap();
  }

  #newGap(): void {
    this.#spentMs = 0;
    this.#tries = 0;
  }
}
