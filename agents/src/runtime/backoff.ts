/**
 * Exponential backoff with full jitter ("sleep = random(0, min(cap, base * 2^attempt))"), so
 * thousands of agents that lost the same pod do not come back in lockstep.
 */

/** Backoff bounds in milliseconds. */
export interface BackoffPolicy {
  initialMs: number;
  maxMs: number;
}

/** The delay before attempt `attempt` (0-based); `random` returns [0, 1). */
export function fullJitterDelay(
  policy: BackoffPolicy,
  attempt: number,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(policy.maxMs, policy.initialMs * 2 ** Math.min(attempt, 30));
  return Math.floor(random() * ceiling);
}
