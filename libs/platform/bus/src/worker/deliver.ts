import type { Topic } from '@axon/contracts-kafka';
import type { HandlerOutcome, MessageHandler } from '../bus';
import { describeError } from '../logger';
import { recordFailure, withConsumeSpan } from '../trace-context';
import type { RawMessage } from './raw-message';
import { isTransientFailure } from './transient';

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
  readonly handler: MessageHandler<T>;
}

function isOutcome(value: unknown): value is HandlerOutcome {
  if (typeof value !== 'object' || value === null) return false;
  const kind = (value as { kind?: unknown }).kind;
  return kind === 'ack' || kind === 'retry' || kind === 'dead-letter';
}

/**
 * One attempt at one message. Never throws: a payload that does not decode is poison
 * (dead-lettered at once, decoding is deterministic); a handler that throws, rejects or
 * returns something that is not an outcome asks for a retry.
 */
export async function runAttempt<T>(target: DeliveryTarget<T>, raw: RawMessage, attempt: number): Promise<AttemptResult> {
  let value: T;
  try {
    value = target.topic.codec.decode(raw.value);
  } catch (err) {
    return { kind: 'dead-letter', reason: `undecodable payload (${target.topic.codec.name}): ${describeError(err)}` };
  }
  const offset = raw.offset.toString();
  const attributes = {
    'messaging.system': target.system,
    'messaging.consumer.group.name': target.groupId,
    'messaging.destination.partition.id': String(target.partition),
    'messaging.kafka.message.key': raw.key,
    'messaging.kafka.offset': offset,
    'axon.bus.attempt': attempt,
  };
  return withConsumeSpan(target.topic.name, raw.headers, attributes, async (span): Promise<AttemptResult> => {
    try {
      const outcome: unknown = await target.handler({
        topic: target.topic.name,
        key: raw.key,
        value,
        headers: raw.headers,
        partition: target.partition,
        offset,
        timestamp: raw.timestamp,
        attempt,
      });
      if (!isOutcome(outcome)) return { kind: 'retry', delayMs: undefined, reason: 'handler returned no outcome' };
      if (outcome.kind === 'retry') {
        return { kind: 'retry', delayMs: outcome.delayMs, reason: outcome.reason ?? 'handler asked to retry' };
      }
      if (outcome.kind === 'dead-letter') span.setAttribute('axon.bus.dead_letter_reason', outcome.reason);
      return outcome;
    } catch (err) {
      recordFailure(span, err);
      return { kind: 'retry', delayMs: undefined, reason: describeError(err), transient: isTransientFailure(err) };
    }
  });
}
