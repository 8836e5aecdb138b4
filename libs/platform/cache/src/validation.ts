/** Input checks shared by both implementations, so they fail the same way. */

/** A TTL in whole milliseconds (>= 1), or a RangeError. */
export function normaliseTtlMs(ttlMs: number): number {
  if (!Number.isFinite(ttlMs) || ttlMs <= 0) {
    throw new RangeError(`cache ttlMs must be a finite number > 0, got ${ttlMs}`);
  }
  return Math.ceil(ttlMs);
}

/** Thrown by every operation of a cache client after `close()`. */
export class CacheClosedError extends Error {
  constructor(what: string) {
    super(`${what} is closed`);
    this.name = 'CacheClosedError';
  }
}
