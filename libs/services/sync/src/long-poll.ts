import type { UserId } from '@axon/matrix-identifiers';
import type { Wakeups } from '@axon/platform-cache';
import { syncChannel } from './sync-channel';
import type { SyncMetrics } from './sync.metrics';

/** The longest a long-poll waits, whatever `timeout` asks. */
export const MAX_TIMEOUT_MS = 120_000;

/** One long-poll's question: what to compute, and whether an answer is worth returning yet. */
export interface PollRequest<T> {
  readonly userId: UserId;
  readonly timeoutMs: number;
  /** Ends the wait early (the client went away): the answer is computed at once. */
  readonly signal?: AbortSignal;
  readonly compute: () => Promise<T>;
  readonly isEmpty: (result: T) => boolean;
}

/**
 * The waiting of `/sync` long-polls: an answer is computed, and while it is empty the poll
 * waits for a wake-up on the user's channel (published by the consumers after they applied
 * a change that concerns the user) or its deadline, then computes again.
 */
export class LongPolls {
  /** The wake-up of every long-poll waiting now, so shutdown can end them all. */
  private readonly waiting = new Set<() => void>();
  private releasing = false;

  constructor(
    private readonly wakeups: Wakeups,
    private readonly metrics?: SyncMetrics,
  ) {}

  async poll<T>(request: PollRequest<T>): Promise<T> {
    // A wake-up that arrives while an answer is being computed is remembered (`woken`), so
    // the change it announces is not left waiting for the timeout.
    let woken = false;
    let wake: () => void = () => undefined;
    // Counted open from the first wait until the answer (recomputing after a wake-up included).
    let polling = false;
    const unsubscribe = await this.wakeups.subscribe(syncChannel(request.userId), () => {
      woken = true;
      wake();
    });
    try {
      const deadline = Date.now() + Math.min(request.timeoutMs, MAX_TIMEOUT_MS);
      for (;;) {
        woken = false;
        const result = await request.compute();
        const done = this.releasing || request.signal?.aborted === true;
        if (!request.isEmpty(result) || Date.now() >= deadline || done) return result;
        if (woken) continue;
        if (!polling) {
          polling = true;
          this.metrics?.longPollsOpen.inc();
        }
        await new Promise<void>((resolve) => {
          const timer = setTimeout(finish, Math.max(0, deadline - Date.now()));
          const waiting = this.waiting;
          function finish(): void {
            clearTimeout(timer);
            waiting.delete(finish);
            resolve();
          }
          wake = finish;
          this.waiting.add(finish);
          request.signal?.addEventListener('abort', finish, { once: true });
        });
      }
    } finally {
      if (polling) this.metrics?.longPollsOpen.dec();
      await unsubscribe();
    }
  }

  /**
   * Ends every waiting long-poll now (each answers with what it has) and every later one at
   * once: called when the process shuts down, before the HTTP listener waits for its
   * requests to finish.
   */
  release(): void {
    this.releasing = true;
    for (const wake of [...this.waiting]) wake();
    this.waiting.clear();
  }
}
