import type { PublicRoom } from './generated/hs/roomserver/v1/room_directory';

/**
 * A published room as the room directory lists it (`PublicRoomsChunk`, the same in the
 * Client-Server and Server-Server `publicRooms` answers): the room server's `PublicRoom`
 * with its empty fields left out.
 *
 * Spec: https://spec.matrix.org/v1.19/client-server-api/#get_matrixclientv3publicrooms
 */
export interface PublicRoomsChunk {
  room_id: string;
  num_joined_members: number;
  world_readable: boolean;
  guest_can_join: boolean;
  name?: string;
  topic?: string;
  canonical_alias?: string;
  avatar_url?: string;
  join_rule?: string;
  room_type?: string;
}

export function publicRoomChunk(room: PublicRoom): PublicRoomsChunk {
  return {
    room_id: room.roomId,
    num_joined_members: room.numJoinedMembers,
    world_readable: room.worldReadable,
    guest_can_join: room.guestCanJoin,
    ...(room.name !== '' ? { name: room.name } : {}),
    ...(room.topic !== '' ? { topic: room.topic } : {}),
    ...(room.canonicalAlias !== '' ? { canonical_alias: room.canonicalAlias } : {}),
    ...(room.avatarUrl !== '' ? { avatar_url: room.avatarUrl } : {}),
    ...(room.joinRule !== '' ? { join_rule: room.joinRule } : {}),
    ...(room.roomType !== '' ? { room_type: room.roomType } : {}),
  };
}
