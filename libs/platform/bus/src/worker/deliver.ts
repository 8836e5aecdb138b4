import type { Topic } from '@axon/contracts-kafka';
import { context } from '@opentelemetry/api';
import type { BatchHandler, DeliveredMessage, HandlerOutcome } from '../bus';
import { describeError } from '../logger';
import { recordFailure, startConsumeSpan } from '../trace-context';
import type { RawMessage } from './raw-message';
import { isPermanentFailure, isTransientFailure } from './failures';

export type AttemptResult =
  | { readonly kind: 'ack' }
  | {
      readonly kind: 'retry';
      readonly delayMs: number | undefined;
      readonly reason: string;
      /** A dependency is unreachable (isTransientFailure): retried without counting an attempt. */
      readonly transient?: boolean;
    }
  | { readonly kind: 'dead-letter'; readonly reason: string };

export interface DeliveryTarget<T> {
  readonly topic: Topic<T>;
  readonly groupId: string;
  readonly partition: number;
  readonly system: string;
  /** `subscribe`'s single-message handler runs as a handler of one-message batches. */
  readonly handler: BatchHandler<T>;
}

/** A message handed to the handler, at its `attempt`. */
export interface DeliveryItem {
  readonly raw: RawMessage;
  readonly attempt: number;
}

function isOutcome(value: unknown): value is HandlerOutcome {
  if (typeof value !== 'object' || value === null) return false;
  const kind = (value as { kind?: unknown }).kind;
  return kind === 'ack' || kind === 'retry' || kind === 'dead-letter';
}

/**
 * One attempt at a batch of messages (usually of one), one handler call. Never throws: a
 * payload that does not decode is poison (dead-lettered at once, decoding is
 * deterministic; in a batch, that splits it); a handler that throws a permanent failure
 * (isPermanentFailure) has its message dead-lettered at once; one that throws anything
 * else, rejects or returns something that is not an outcome asks for a retry. Each message gets a CONSUMER span of
 * its own; the handler runs in the first one's context.
 */
export async function runAttempt<T>(target: DeliveryTarget<T>, items: readonly DeliveryItem[]): Promise<AttemptResult> {
  const values: T[] = [];
  for (const { raw } of items) {
    try {
      values.push(target.topic.codec.decode(raw.value));
    } catch (err) {
      return { kind: 'dead-letter', reason: `undecodable payload (${target.topic.codec.name}): ${describeError(err)}` };
    }
  }
  const spans = items.map(({ raw, attempt }) =>
    startConsumeSpan(target.topic.name, raw.headers, {
      'messaging.system': target.system,
      'messaging.consumer.group.name': target.groupId,
      'messaging.destination.partition.id': String(target.partition),
      'messaging.kafka.message.key': raw.key,
      'messaging.kafka.offset': raw.offset.toString(),
      'axon.bus.attempt': attempt,
      ...(items.length > 1 ? { 'messaging.batch.message_count': items.length } : {}),
    }),
  );
  const messages = items.map(
    ({ raw, attempt }, index): DeliveredMessage<T> => ({
      topic: target.topic.name,
      key: raw.key,
      value: values[index]!,
      headers: raw.headers,
      partition: target.partition,
      offset: raw.offset.toString(),
      timestamp: raw.timestamp,
      attempt,
      traceHeaders: spans[index]!.traceHeaders,
    }),
  );
  try {
    const outcome: unknown = await context.with(spans[0]!.context, () => target.handler(messages));
    if (!isOutcome(outcome)) return { kind: 'retry', delayMs: undefined, reason: 'handler returned no outcome' };
    if (outcome.kind === 'retry') {
      return { kind: 'retry', delayMs: outcome.delayMs, reason: outcome.reason ?? 'handler asked to retry' };
    }
    if (outcome.kind === 'dead-letter') for (const { span } of spans) span.setAttribute('axon.bus.dead_letter_reason', outcome.reason);
    return outcome;
  } catch (err) {
    for (const { span } of spans) recordFailure(span, err);
    // In a batch, a permanent failure of one message fails the whole call: the batch is
    // split and its messages redelivered one at a time (without counting an attempt), so
    // only the message that causes it is dead-lettered.
    if (isPermanentFailure(err) && items.length === 1) return { kind: 'dead-letter', reason: `permanent failure: ${describeError(err)}` };
    return { kind: 'retry', delayMs: undefined, reason: describeError(err), transient: isTransientFailure(err) };
  } finally {
    for (const { span } of spans) span.end();
  }
}
