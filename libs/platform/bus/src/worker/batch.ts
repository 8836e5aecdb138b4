import type { BatchHandler, MessageHandler } from '../bus';
import type { BusLogger } from '../logger';
import { runAttempt, type DeliveryTarget } from './deliver';
import type { KeyQueue } from './key-queue';
import type { RawMessage } from './raw-message';

/**
 * What a worker runs: `subscribe`'s handler of single messages, or `subscribeBatches`'
 * handler of batches.
 */
export type WorkerHandlers<T> =
  | { readonly handler: MessageHandler<T>; readonly batchHandler?: undefined }
  | { readonly batchHandler: BatchHandler<T>; readonly handler?: undefined };

/** Just the handler of `handlers` (which may be a larger object), to pass on. */
export function handlersOf<T>(handlers: WorkerHandlers<T>): WorkerHandlers<T> {
  return handlers.batchHandler ? { batchHandler: handlers.batchHandler } : { handler: handlers.handler };
}

/** The worker's handler as a handler of batches, and the most messages a batch may hold. */
export function batchHandlerOf<T>(handlers: WorkerHandlers<T>, maxBatch: number): { handler: BatchHandler<T>; maxBatch: number } {
  if (handlers.batchHandler) return { handler: handlers.batchHandler, maxBatch };
  const single = handlers.handler;
  return { handler: (messages) => single(messages[0]!), maxBatch: 1 };
}

/** A message in a partition worker, and the attempts it has had alone. */
export interface Entry {
  readonly raw: RawMessage;
  attempt: number;
}

/** One message of a batch, with the key it holds busy. */
export interface Taken {
  readonly key: string;
  readonly item: Entry;
}

/**
 * The next unit of work of a partition, in offset order (README "Batch delivery"): in key
 * order every queued message of every ready key (keys `skip` refuses aside), up to `max`;
 * in partition order the oldest `max` queued messages. Every key taken is busy until
 * released. Empty when nothing can start.
 */
export function takeBatch(
  keys: KeyQueue<Entry>,
  order: 'key' | 'partition',
  max: number,
  skip: ((key: string) => boolean) | undefined,
): Taken[] {
  if (order === 'partition') return keys.takeOldest(max, (entry) => entry.raw.offset);
  const taken = keys.takeBatch(max, skip);
  return taken.length > 1 ? taken.sort((a, b) => (a.item.raw.offset < b.item.raw.offset ? -1 : 1)) : taken;
}

/** What `runBatch` needs from its partition worker. */
export interface BatchRunner<T> {
  readonly target: DeliveryTarget<T>;
  readonly logger: BusLogger;
  /** Delivers the message alone under the single-message rules: true once acked or dead-lettered, false if the worker stopped first. */
  runAlone(entry: Entry): Promise<boolean>;
  /** Waits out the `outage`th transient failure in a row, the partition paused; false if the worker stopped. */
  waitOutage(outage: number, offset: bigint, reason: string): Promise<boolean>;
  /** Whether a message may still start (not once the worker stopped hard, or its drain timed out). */
  mayStart(): boolean;
}

/**
 * Runs a batch of several messages (offset order) to its end and says, per message,
 * whether it finished. One handler call for all of them; `ack` finishes them all; a
 * transient failure makes the whole batch wait and come again (the messages are fine, a
 * dependency is not). Any other failure, or a payload that does not decode, splits the
 * batch: each message is delivered alone, in offset order, under the single-message rules,
 * so a poison message is retried and dead-lettered by itself while the others are acked.
 * A message left unfinished (the worker stopped) leaves the ones after it unfinished too:
 * they are delivered again after a restart, never out of order.
 */
export async function runBatch<T>(runner: BatchRunner<T>, entries: readonly Entry[]): Promise<boolean[]> {
  const finished = entries.map(() => false);
  for (let outage = 1; ; outage++) {
    // The batch's attempt is not the messages' own: alone, each starts again at 1.
    const result = await runAttempt(runner.target, entries.map((entry) => ({ raw: entry.raw, attempt: entry.attempt + 1 })));
    if (result.kind === 'ack') return entries.map(() => true);
    if (result.kind === 'retry' && result.transient === true) {
      if (!(await runner.waitOutage(outage, entries[0]!.raw.offset, result.reason))) return finished;
      continue;
    }
    runner.logger.log('debug', 'bus: a batch failed; delivering its messages one at a time', {
      topic: runner.target.topic.name,
      partition: runner.target.partition,
      offsets: `${entries[0]!.raw.offset}-${entries[entries.length - 1]!.raw.offset}`,
      messages: entries.length,
      reason: result.reason,
    });
    break;
  }
  for (const [index, entry] of entries.entries()) {
    if (!runner.mayStart()) break;
    finished[index] = await runner.runAlone(entry);
    if (!finished[index]) break;
  }
  return finished;
}
