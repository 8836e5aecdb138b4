import { MatrixError } from '@axon/matrix-errors';
import { accountDataTopic } from './account-data-topic';
import { deviceListTopic, presenceTopic, receiptTopic, toDeviceTopic, typingTopic } from './edu-topics';
import { roomOutputTopic } from './room-topics';
import type { AnyTopic } from './topic';

/** Applied offsets of one topic, per partition (-1 for none). */
export type StreamPositions = readonly number[];

/**
 * The streams a sync token has a position in, in token order: each is a bus topic whose
 * messages the sync read model applies in partition order.
 */
export const SYNC_STREAMS = [
  ['rooms', roomOutputTopic],
  ['accountData', accountDataTopic],
  ['receipts', receiptTopic],
  ['typing', typingTopic],
  ['presence', presenceTopic],
  ['toDevice', toDeviceTopic],
  ['deviceLists', deviceListTopic],
] as const satisfies ReadonlyArray<readonly [string, AnyTopic]>;

export type StreamName = (typeof SYNC_STREAMS)[number][0];

/**
 * A sync token: per stream, the last applied offset of every partition of its topic. A
 * position is only ever advanced past offsets that are applied, and each partition is
 * applied in order, so a token never skips an event.
 *
 * Beside the offsets of `hs.room.output.v1`, `roomOrderings` holds per partition the
 * highest room-server stream ordering (`RoomOutput.stream_ordering`) among the outputs
 * applied up to that offset: what `/messages` needs to start from a sync token in a room
 * (`roomPositionOf`) without asking the sync service where the offset falls in the room.
 * Tokens written before it (`s2`) have none (`undefined`); `/sync` still takes them.
 *
 * Opaque to clients; written `s3_<rooms>_<account data>_<receipts>_<typing>_<presence>_
 * <to-device>_<device lists>_<room orderings>`, each a `.`-separated list in partition order.
 */
export type SyncToken = Readonly<Record<StreamName, StreamPositions>> & {
  readonly roomOrderings: StreamPositions | undefined;
  /**
   * A parsed token's count of `hs.room.output.v1` partitions when it was written, where it
   * is below today's (the count was raised since): a room's events up to the token are in
   * the room's partition under that count.
   */
  readonly roomPartitionsWritten?: number;
};

const VERSION = 's3';
const PREVIOUS_VERSION = 's2';

export function formatSyncToken(token: SyncToken): string {
  const orderings = token.roomOrderings ?? Array.from({ length: roomOutputTopic.partitions }, () => -1);
  return [VERSION, ...SYNC_STREAMS.map(([name]) => token[name].join('.')), orderings.join('.')].join('_');
}

const NUMBER = /^(-1|\d{1,18})$/;

/** Whether a token is a sync token (of either version), as opposed to another kind of token. */
export function isSyncToken(text: string): boolean {
  return text.startsWith(`${VERSION}_`) || text.startsWith(`${PREVIOUS_VERSION}_`);
}

/**
 * Parses a sync token, or `M_INVALID_PARAM` (also for a token with more partitions than a
 * topic has: another deployment's). A token written before a partition count was raised
 * has positions for the old partitions only; the new ones read as -1.
 */
export function parseSyncToken(text: string): SyncToken {
  const parts = text.split('_');
  const version = parts[0];
  const expected = version === VERSION ? SYNC_STREAMS.length + 2 : version === PREVIOUS_VERSION ? SYNC_STREAMS.length + 1 : -1;
  if (parts.length !== expected) throw new MatrixError('M_INVALID_PARAM', 'invalid since token', 400);
  const positions = (index: number, partitions: number): number[] => {
    const list = parts[index]!.split('.');
    if (!list.every((n) => NUMBER.test(n))) throw new MatrixError('M_INVALID_PARAM', 'invalid since token', 400);
    // Fewer positions than partitions: the topic's partition count was raised since the
    // token was written, and the new partitions' messages all came after it (-1: none
    // applied). More: the count cannot go down, so the token is another deployment's.
    if (list.length > partitions) throw new MatrixError('M_INVALID_PARAM', 'since token from another deployment', 400);
    return [...list.map(Number), ...Array.from({ length: partitions - list.length }, () => -1)];
  };
  const token: Partial<Record<StreamName, StreamPositions>> = {};
  SYNC_STREAMS.forEach(([name, topic], index) => {
    token[name] = positions(index + 1, topic.partitions);
  });
  const roomOrderings = version === VERSION ? positions(SYNC_STREAMS.length + 1, roomOutputTopic.partitions) : undefined;
  const written = version === VERSION ? parts[SYNC_STREAMS.length + 1]!.split('.').length : roomOutputTopic.partitions;
  return { ...(token as Record<StreamName, StreamPositions>), roomOrderings, ...(written < roomOutputTopic.partitions ? { roomPartitionsWritten: written } : {}) };
}

/** The token with every position at -1: before anything. */
export function emptySyncToken(): SyncToken {
  const none = (partitions: number): number[] => Array.from({ length: partitions }, () => -1);
  return { ...(Object.fromEntries(SYNC_STREAMS.map(([name, topic]) => [name, none(topic.partitions)])) as Record<StreamName, number[]>), roomOrderings: none(roomOutputTopic.partitions) };
}

/**
 * Where a sync token stands in one room, as a room-server stream ordering: the room's
 * events the token covers are those at or below it. `partitions` are the room's partitions
 * of `hs.room.output.v1` (the bus's partitioner over the room ID) under today's count and,
 * for a token written before the count was raised, under the count it was written with
 * (`roomPartitionsWritten`): the highest of their orderings. A room's outputs are in one
 * partition per count, in the room's order, and stream orderings grow along a room, so
 * every event of the room up to the partition's offset is at or below the partition's
 * highest ordering. A later event of the room is above it, unless its ordering was drawn
 * before that of an output of another room that reached the partition first: two writers
 * appending to the same partition at once (`docs/architecture.md`, "Sync tokens in
 * `/messages`"), or, across a raise, an output of another room in the room's old partition.
 * `M_INVALID_PARAM` for a token without orderings (`s2`).
 */
export function roomPositionOf(token: SyncToken, partitions: readonly number[]): number {
  const orderings = token.roomOrderings;
  if (orderings === undefined) throw new MatrixError('M_INVALID_PARAM', 'this sync token predates room positions; sync again for a new one', 400);
  return Math.max(-1, ...partitions.map((partition) => orderings[partition] ?? -1));
}
