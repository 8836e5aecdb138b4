/**
 * Settles like `promise`, or rejects with `signal.reason` as soon as the signal aborts.
 * The promise stays observed either way, so a late rejection is never "unhandled".
 */
export function raceAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

/** Calls `onDeadline` at `deadline` (ms since the epoch); returns the canceller. */
export function atDeadline(deadline: number, onDeadline: () => void): () => void {
  if (!Number.isFinite(deadline)) return () => undefined;
  // setTimeout fires early by up to a millisecond; a deadline is a promise not to give
  // up before it, so round up.
  const timer = setTimeout(onDeadline, Math.max(0, Math.ceil(deadline - Date.now())));
  return () => clearTimeout(timer);
}
