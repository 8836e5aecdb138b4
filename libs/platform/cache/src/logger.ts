import type { CacheLogger, WakeupListener } from './ports';

/**
 * Used when the caller passes no logger: a library must not swallow errors, and Node's
 * process warnings are the standard place for a library to report them.
 */
export const processWarningLogger: CacheLogger = {
  warn(obj, msg) {
    const err = obj['err'];
    const detail = err instanceof Error ? `: ${err.message}` : '';
    process.emitWarning(`${msg}${detail}`, { type: 'AxonCacheWarning', detail: JSON.stringify(withoutErr(obj)) });
  },
};

function withoutErr(obj: Record<string, unknown>): Record<string, unknown> {
  const { err: _err, ...rest } = obj;
  return rest;
}

/**
 * Wraps a wake-up listener so that a throw or a rejection is recorded with its channel and
 * never reaches the dispatch loop: one broken listener must not starve the others.
 */
export function isolateListener(
  listener: WakeupListener,
  logger: CacheLogger,
): (payload: string, channel: string) => void {
  const record = (err: unknown, channel: string): void => {
    logger.warn({ err, channel }, 'wake-up listener failed');
  };
  return (payload, channel) => {
    try {
      // Promise.resolve also covers listeners that return a foreign thenable.
      Promise.resolve(listener(payload, channel)).catch((err: unknown) => record(err, channel));
    } catch (err) {
      record(err, channel);
    }
  };
}
