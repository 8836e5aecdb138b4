import type { MessageHeaders } from '../bus';
import { DLQ_HEADERS } from '../headers';
import { errorFields } from '../logger';
import { notifyObserver } from '../options';
import type { Entry } from './batch';
import type { PartitionWorkerOwner } from './partition-worker';

/**
 * The message is done for: dead-lettered durably (true), or, on a dead-letter topic,
 * logged and let go (true); false if the dead-letter write kept failing until the worker
 * stopped. `waitAfterFailure(n)` waits before the (n+1)th try of the write and says false
 * once the worker stopped.
 */
export function giveUp<T>(
  host: PartitionWorkerOwner<T>,
  entry: Entry,
  reason: string,
  waitAfterFailure: (failures: number) => Promise<boolean>,
): Promise<boolean> {
  const dlqName = host.topic.dlqName;
  if (dlqName === undefined) {
    // A dead-letter topic: the message is already parked, appending it again would only
    // loop. It stays in this topic (until its retention); this group moves past it.
    host.logger.log('error', 'bus: gave up on a message of a dead-letter topic; it is acknowledged and stays in the topic', {
      topic: host.topic.name,
      partition: host.partition,
      offset: entry.raw.offset.toString(),
      key: entry.raw.key,
      groupId: host.groupId,
      attempts: entry.attempt,
      reason,
    });
    return Promise.resolve(true);
  }
  return sendToDeadLetter(host, entry, dlqName, reason, waitAfterFailure);
}

/** Dead-letters durably, retrying the write itself until it works or the worker stops. */
async function sendToDeadLetter<T>(
  host: PartitionWorkerOwner<T>,
  entry: Entry,
  dlqName: string,
  reason: string,
  waitAfterFailure: (failures: number) => Promise<boolean>,
): Promise<boolean> {
  const raw = entry.raw;
  const headers: MessageHeaders = {
    ...raw.headers,
    [DLQ_HEADERS.error]: reason,
    [DLQ_HEADERS.originalTopic]: host.topic.name,
    [DLQ_HEADERS.originalPartition]: String(host.partition),
    [DLQ_HEADERS.originalOffset]: raw.offset.toString(),
    [DLQ_HEADERS.originalTimestamp]: String(raw.timestamp),
    [DLQ_HEADERS.attempts]: String(entry.attempt),
    [DLQ_HEADERS.consumerGroup]: host.groupId,
  };
  for (let failures = 1; ; failures++) {
    try {
      await host.deadLetter(raw, headers);
      break;
    } catch (err) {
      host.logger.log('error', 'bus: could not write to the dead-letter topic, retrying', {
        topic: dlqName,
        partition: host.partition,
        offset: raw.offset.toString(),
        ...errorFields(err),
      });
      if (!(await waitAfterFailure(failures))) return false;
    }
  }
  host.logger.log('warn', 'bus: message dead-lettered', {
    topic: host.topic.name,
    partition: host.partition,
    offset: raw.offset.toString(),
    key: raw.key,
    reason,
  });
  notifyObserver(host.logger, 'deadLettered', () => host.options.observer.deadLettered?.(host.partition, raw.offset.toString(), reason));
  return true;
}
