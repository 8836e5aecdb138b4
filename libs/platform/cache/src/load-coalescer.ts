/**
 * Single flight per key within one process: concurrent `getOrLoad` calls for a key share
 * one lookup and one loader call, so a cold key under load costs one database query, not
 * one per request. (Replicas may still each load once; the TTL bounds that.)
 */

interface Flight<T> {
  readonly promise: Promise<T>;
  readonly marks: { stale: boolean };
}

export class LoadCoalescer<T> {
  private readonly flights = new Map<string, Flight<T>>();

  /**
   * Runs `work` unless a run for `key` is already in flight, in which case its promise is
   * shared. `work` gets `isStale()`, which turns true when `invalidate(key)` is called
   * while it runs; it must then not store its result (a newer write or delete won).
   */
  run(key: string, work: (isStale: () => boolean) => Promise<T>): Promise<T> {
    const current = this.flights.get(key);
    if (current !== undefined) return current.promise;
    const marks = { stale: false };
    // Start `work` on the next microtask, after the flight is registered, so that even a
    // synchronous throw goes through the cleanup below.
    const promise = Promise.resolve()
      .then(() => work(() => marks.stale))
      .finally(() => {
        // Only remove our own flight: after invalidate() a newer one may hold the key.
        if (this.flights.get(key)?.marks === marks) this.flights.delete(key);
      });
    this.flights.set(key, { promise, marks });
    return promise;
  }

  /** Marks the key's in-flight run stale and lets the next call start a fresh one. */
  invalidate(key: string): void {
    const flight = this.flights.get(key);
    if (flight === undefined) return;
    flight.marks.stale = true;
    this.flights.delete(key);
  }
}
