import type { UserId } from '@axon/matrix-identifiers';
import type { Unsubscribe, Wakeups } from '@axon/platform-cache';
import { syncChannel } from './sync-channel';
import type { SyncMetrics } from './sync.metrics';

/** The longest a long-poll waits, whatever `timeout` asks. */
export const MAX_TIMEOUT_MS = 120_000;

/**
 * The client's connection, as far as a long-poll cares: it may go away (`close`), and then
 * the poll answers at once. An `IncomingMessage` is one; no per-request AbortController is
 * needed (each costs an EventTarget and its listeners per waiting poll).
 */
export interface ClientConnection {
  on(event: 'close', listener: () => void): unknown;
  removeListener(event: 'close', listener: () => void): unknown;
}

/** One long-poll's question: what to compute, and whether an answer is worth returning yet. */
export interface PollRequest<T> {
  readonly userId: UserId;
  readonly timeoutMs: number;
  readonly client?: ClientConnection;
  readonly compute: () => Promise<T>;
  /**
   * Awaited (after the wake-up subscription is taken) before the first computation: the
   * read model catching up (`CatchUp`). The poll already listens for its client leaving and
   * for release meanwhile, which answer it at once.
   */
  readonly ready?: Promise<void>;
  /** Whether an answer has nothing to say yet (then the poll waits, unless it must answer now). */
  readonly isEmpty: (answer: T) => boolean;
}

/**
 * A waiting long-poll. Everything it holds while idle is here (no async frame, closure or
 * promise chain per poll beyond its own promise, and one timer), because thousands wait at
 * once and each byte is paid per poll.
 */
class Waiter<T> {
  timer: NodeJS.Timeout | undefined;
  /** A wake-up arrived while the answer was being computed: compute again, do not wait. */
  woken = false;
  /** The deadline passed, the client left or the process shuts down: the next answer is the answer. */
  final = false;
  /** From the start until the first answer is computed too: a wake-up or close meanwhile only marks it. */
  computing = true;
  done = false;
  counted = false;
  readonly onClose = (): void => this.polls.settle(this, true);

  constructor(
    readonly polls: LongPolls<T>,
    readonly request: PollRequest<T>,
    readonly deadline: number,
    readonly resolve: (value: T) => void,
    readonly reject: (error: unknown) => void,
  ) {}
}

function expire<T>(waiter: Waiter<T>): void {
  waiter.timer = undefined;
  waiter.polls.settle(waiter, true);
}

/**
 * The waiting of `/sync` long-polls: an answer is computed, and while it is empty the poll
 * waits for a wake-up on the user's channel (published by the consumers after they applied
 * a change that concerns the user) or its deadline, then computes again. The polls of one
 * user share one subscription to the user's channel, taken by the first and dropped by the
 * last.
 */
export class LongPolls<T> {
  /** Every waiting or computing poll by user, so a wake-up and shutdown reach them all. */
  private readonly byUser = new Map<UserId, { readonly waiters: Set<Waiter<T>>; unsubscribe: Promise<Unsubscribe> | undefined }>();
  private releasing = false;

  constructor(
    private readonly wakeups: Wakeups,
    private readonly metrics?: SyncMetrics,
  ) {}

  poll(request: PollRequest<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const waiter = new Waiter<T>(this, request, Date.now() + Math.min(request.timeoutMs, MAX_TIMEOUT_MS), resolve, reject);
      // At once, not after the subscription: a client leaving meanwhile must not be missed.
      // `on`, not `once`: `finish` removes it anyway, and `once` wraps each listener in a
      // closure of its own (about 180 bytes a waiting poll).
      request.client?.on('close', waiter.onClose);
      void this.start(waiter);
    });
  }

  /**
   * Ends every waiting long-poll now (each answers with what it has) and every later one at
   * once: called when the process shuts down, before the HTTP listener waits for its
   * requests to finish.
   */
  release(): void {
    this.releasing = true;
    for (const { waiters } of [...this.byUser.values()]) for (const waiter of [...waiters]) this.settle(waiter, true);
  }

  private async start(waiter: Waiter<T>): Promise<void> {
    const userId = waiter.request.userId;
    let entry = this.byUser.get(userId);
    if (entry === undefined) {
      const created = { waiters: new Set<Waiter<T>>(), unsubscribe: undefined as Promise<Unsubscribe> | undefined };
      // Subscribed before the first computation, so a change applied meanwhile still wakes it.
      created.unsubscribe = this.wakeups.subscribe(syncChannel(userId), () => this.wake(userId));
      this.byUser.set(userId, created);
      entry = created;
    }
    entry.waiters.add(waiter);
    try {
      await entry.unsubscribe;
      await waiter.request.ready;
    } catch (error) {
      this.finish(waiter);
      waiter.reject(error);
      return;
    }
    // The client left or the process is releasing meanwhile: that answered it already.
    if (waiter.done) return;
    await this.compute(waiter);
  }

  private wake(userId: UserId): void {
    const entry = this.byUser.get(userId);
    if (entry === undefined) return;
    for (const waiter of [...entry.waiters]) this.settle(waiter, false);
  }

  /** Computes the answer; answers when there is news or it must, else waits (again) for a wake-up or the deadline. */
  private async compute(waiter: Waiter<T>): Promise<void> {
    waiter.computing = true;
    waiter.woken = false;
    let answer: T;
    try {
      answer = await waiter.request.compute();
    } catch (error) {
      this.finish(waiter);
      waiter.reject(error);
      return;
    }
    waiter.computing = false;
    if (waiter.done) return;
    if (!waiter.request.isEmpty(answer) || waiter.final || this.releasing || Date.now() >= waiter.deadline) {
      this.finish(waiter);
      waiter.resolve(answer);
      return;
    }
    if (waiter.woken) return this.compute(waiter);
    if (!waiter.counted) {
      waiter.counted = true;
      this.metrics?.longPollsOpen.inc();
    }
    waiter.timer ??= setTimeout(expire, Math.max(0, waiter.deadline - Date.now()), waiter);
  }

  /**
   * Ends a wait: a wake-up computes again; the deadline, release or the client leaving
   * (`final`) computes the answer that is returned whatever it holds.
   */
  settle(waiter: Waiter<T>, final: boolean): void {
    if (waiter.done) return;
    if (final) waiter.final = true;
    // A computation in flight looks at `woken` and `final` when it ends.
    if (waiter.computing) waiter.woken = true;
    else void this.compute(waiter);
  }

  private finish(waiter: Waiter<T>): void {
    waiter.done = true;
    if (waiter.timer !== undefined) clearTimeout(waiter.timer);
    waiter.timer = undefined;
    waiter.request.client?.removeListener('close', waiter.onClose);
    if (waiter.counted) this.metrics?.longPollsOpen.dec();
    const userId = waiter.request.userId;
    const entry = this.byUser.get(userId);
    if (entry === undefined || !entry.waiters.delete(waiter) || entry.waiters.size > 0) return;
    this.byUser.delete(userId);
    // The last poll of the user is gone: so is the user's subscription. A failed subscribe
    // was given to the polls that awaited it; a failed unsubscribe only leaves a listener
    // whose wake-ups find no poll of the user (or wake a later one once, harmlessly).
    void entry.unsubscribe?.then((unsubscribe) => unsubscribe()).catch(() => undefined);
  }
}
