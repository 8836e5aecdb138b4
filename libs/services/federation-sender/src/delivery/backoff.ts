/** How long a failing destination waits, from `federation.sender.*`. */
export interface BackoffPolicy {
  readonly baseMs: number;
  readonly maxMs: number;
}

/**
 * The wait before the next try after `failures` failed transactions in a row (1 or more):
 * `baseMs · 2^(failures-1)`, capped at `maxMs`, then drawn uniformly between half of it
 * and all of it ("equal jitter"), so destinations that failed together (a network blip)
 * do not all come back in the same instant, and the wait still grows with every failure.
 * `random` is in [0, 1).
 */
export function backoffDelay(failures: number, policy: BackoffPolicy, random: () => number = Math.random): number {
  const exponent = Math.min(Math.max(failures, 1) - 1, 52);
  const ceiling = Math.min(policy.maxMs, policy.baseMs * 2 ** exponent);
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}
