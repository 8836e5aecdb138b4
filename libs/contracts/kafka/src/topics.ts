import { accountDataTopic } from './account-data-topic';
import { deviceListTopic, presenceTopic, receiptTopic, toDeviceTopic, typingTopic } from './edu-topics';
import { roomInputTopic, roomOutputTopic } from './room-topics';
import { setPartitionCounts, type AnyTopic } from './topic';

/**
 * The registry of product topics: the only place a topic's name, partition count, key
 * function and payload type are written down, so producers and consumers cannot drift.
 *
 * Topics join it with the issues that define their payloads (ARCHITECTURE.md §5).
 *
 * `topics.spec.ts` checks every entry against the naming rule and for unique names.
 */
export const TOPICS = Object.freeze({
  roomInput: roomInputTopic,
  roomOutput: roomOutputTopic,
  accountData: accountDataTopic,
  receipt: receiptTopic,
  typing: typingTopic,
  presence: presenceTopic,
  toDevice: toDeviceTopic,
  deviceList: deviceListTopic,
}) satisfies Readonly<Record<string, AnyTopic>>;

export type TopicRegistry = typeof TOPICS;

/** Every registered topic, e.g. for creating them all at boot. */
export function registeredTopics(): readonly AnyTopic[] {
  return Object.values(TOPICS as Readonly<Record<string, AnyTopic>>);
}

/**
 * The deployment's partition counts (`kafka.partitions`: topic name → count), for every
 * registered topic and its dead-letter twin; topics not named keep their definitions'.
 * Called once at boot, before the bus opens. Raising a count on a running deployment is
 * `docs/deployment.md` "Raising a partition count".
 */
export function configurePartitionCounts(counts: Readonly<Record<string, number>>): void {
  setPartitionCounts(counts, registeredTopics());
}
