import { roomInputTopic } from '@axon/contracts-kafka';
import type { RoomId } from '@axon/matrix-identifiers';
import { partitionForKey } from '@axon/platform-bus';

/**
 * The outbox shard of a room's output rows: the `hs.room.input.v1` partition of the room,
 * so a replica relays the rooms it writes under its own leases and a dead replica's
 * leases hold up only its own rooms (which wait for its partitions to move anyway).
 *
 * Rows of one room must stay in one shard while any is unpublished: the relay keeps
 * order within a shard only. Changing the input topic's partition count therefore needs
 * an empty outbox (stop the room servers, let the relay drain, then upgrade).
 */
export function outboxShard(roomId: RoomId): number {
  return partitionForKey(roomId, roomInputTopic.partitions);
}
