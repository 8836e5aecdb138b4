import type { Counter, Gauge, Histogram, Metrics } from '@axon/platform-telemetry';

/** `hs_<app>_sync_*`. */
export interface SyncMetrics {
  /** `hs_<app>_sync_long_polls_open`: `/sync` requests that started waiting for news and have not answered yet. */
  readonly longPollsOpen: Gauge;
  /** `hs_<app>_sync_catch_up_wait_seconds`: how long a `/sync` waited for the read model to catch up with the bus (`CatchUp`). */
  readonly catchUpWait: Histogram;
  /**
   * `hs_<app>_sync_catch_up_timeouts_total{cause}`: syncs that answered without having
   * caught up: `lag` (the read model was still behind after `MAX_CATCH_UP_MS`) or `bus`
   * (the bus's end offsets could not be read in that time).
   */
  readonly catchUpTimeouts: Counter<'cause'>;
}

/** Up to the 1 s bound of `CatchUp`, and one bucket past it for a slow timer. */
const CATCH_UP_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

export function createSyncMetrics(metrics: Metrics): SyncMetrics {
  return {
    longPollsOpen: metrics.gauge('sync', 'long_polls', 'open', '/sync requests waiting for news (long-polls) in this process, from their first wait until they answer'),
    catchUpWait: metrics.histogram(
      'sync',
      'catch_up_wait',
      'seconds',
      'How long a /sync waited, before computing its answer, for the sync read model to apply everything on the bus when it arrived (read-your-writes; bounded at 1 s)',
      [],
      CATCH_UP_BUCKETS,
    ),
    catchUpTimeouts: metrics.counter(
      'sync',
      'catch_up_timeouts',
      '/sync requests that answered without the read model having caught up with the bus: cause "lag" (still behind after 1 s) or "bus" (its end offsets could not be read in time)',
      ['cause'],
    ),
  };
}
