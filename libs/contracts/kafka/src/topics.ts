import type { AnyTopic } from './topic';

/**
 * The registry of product topics: the only place a topic's name, partition count, key
 * function and payload type are written down, so producers and consumers cannot drift.
 *
 * It starts empty on purpose. The topics of ARCHITECTURE.md §5 (`hs.room.input.v1`,
 * `hs.room.output.v1`, the EDU and per-user topics) join it with the issues that define
 * their payloads; an entry looks like
 *
 *   roomInput: defineTopic<RoomInput>({ name: 'hs.room.input.v1', partitions: 16,
 *     key: (m) => m.room_id, codec: roomInputCodec }),
 *
 * `topics.spec.ts` checks every entry against the naming rule and for unique names.
 */
export const TOPICS = Object.freeze({}) satisfies Readonly<Record<string, AnyTopic>>;

export type TopicRegistry = typeof TOPICS;

/** Every registered topic, e.g. for creating them all at boot. */
export function registeredTopics(): readonly AnyTopic[] {
  return Object.values(TOPICS as Readonly<Record<string, AnyTopic>>);
}
