import { Injectable } from '@nestjs/common';
import { publicRoomChunk, RoomDirectoryDefinition, type PublicRoomsChunk } from '@axon/contracts-grpc';
import { MatrixError } from '@axon/matrix-errors';
import { authStateFromEvents, getEventPowerLevel, getUserPowerLevel, toAuthEvent } from '@axon/matrix-event-auth';
import type { Pdu } from '@axon/matrix-events';
import { getRoomAliasServerName, parseRoomAlias, parseRoomId, type RoomAlias, type RoomId, type UserId } from '@axon/matrix-identifiers';
import { getRoomVersionRules } from '@axon/matrix-room-versions';
import type { AxonConfig } from '@axon/platform-config';
import type { ServiceClient } from '@axon/platform-rpc';
import { InjectConfig, RpcHost } from '@axon/platform-runtime';
import type { Requester } from '../auth/requester';
import { RemoteRoomsClient } from '../rooms/remote-rooms.client';
import { RoomQueryClient } from '../rooms/room-query.client';

/** A page of a published room directory (`publicRooms`). */
export type PublicRoomsResponse = { chunk: PublicRoomsChunk[]; next_batch?: string; prev_batch?: string; total_room_count_estimate: number };

type Json = Readonly<Record<string, unknown>>;

/** A published room as `publicRooms` lists it (`PublishedRoomsChunk`). */
/**
 * Room aliases of this server and the published room directory, over the room server's
 * `RoomDirectory`. Aliases of other servers need federation (not served yet: they are
 * answered as unknown).
 *
 * Spec: https://spec.matrix.org/v1.19/client-server-api/#room-aliases
 */
@Injectable()
export class DirectoryService {
  private readonly directory: ServiceClient<typeof RoomDirectoryDefinition>;

  constructor(
    rpc: RpcHost,
    private readonly rooms: RoomQueryClient,
    @InjectConfig() private readonly config: AxonConfig,
    private readonly remoteRooms: RemoteRoomsClient,
  ) {
    this.directory = rpc.client(RoomDirectoryDefinition);
  }

  /** An alias a request names, parsed, or `M_INVALID_PARAM`. */
  aliasOf(alias: string): RoomAlias {
    const parsed = parseRoomAlias(alias);
    if (!parsed.ok) throw new MatrixError('M_INVALID_PARAM', `Room alias invalid: ${parsed.error}`, 400);
    return parsed.value;
  }

  /** A syntactically valid alias of this server, or `M_INVALID_PARAM`. */
  localAlias(alias: string): RoomAlias {
    const parsed = this.aliasOf(alias);
    if (getRoomAliasServerName(parsed) !== this.config.server_name) {
      throw new MatrixError('M_INVALID_PARAM', `Room alias ${alias} is not on this server`, 400);
    }
    return parsed;
  }

  /** The room an alias names and servers in it: this server's aliases here, others' from their server (`query/directory`). */
  async resolve(alias: RoomAlias): Promise<{ room_id: RoomId; servers: string[] }> {
    if (getRoomAliasServerName(alias) !== this.config.server_name) {
      const remote = await this.remoteRooms.queryDirectory({ roomAlias: alias });
      if (!remote.found) throw new MatrixError('M_NOT_FOUND', `Room alias ${alias} not found.`, 404);
      const room = parseRoomId(remote.roomId);
      if (!room.ok) throw new MatrixError('M_NOT_FOUND', `Room alias ${alias} names no valid room.`, 404);
      return { room_id: room.value, servers: remote.servers };
    }
    const found = await this.lookup(alias);
    if (found === undefined) throw new MatrixError('M_NOT_FOUND', `Room alias ${alias} not found.`, 404);
    return { room_id: found.roomId, servers: [this.config.server_name] };
  }

  /** The room an alias or room ID names (for `join/{roomIdOrAlias}`), with servers that can be joined through (an alias's). */
  async roomIdOf(roomIdOrAlias: string): Promise<RoomId> {
    return (await this.roomOf(roomIdOrAlias)).roomId;
  }

  async roomOf(roomIdOrAlias: string): Promise<{ roomId: RoomId; servers: string[] }> {
    if (!roomIdOrAlias.startsWith('#')) {
      const parsed = parseRoomId(roomIdOrAlias);
      if (!parsed.ok) throw new MatrixError('M_INVALID_PARAM', `${JSON.stringify(roomIdOrAlias)} is not a room ID or alias`, 400);
      return { roomId: parsed.value, servers: [] };
    }
    const resolved = await this.resolve(this.aliasOf(roomIdOrAlias));
    return { roomId: resolved.room_id, servers: resolved.servers };
  }

  /** Whether a `server` parameter names a server other than this one. */
  isOtherServer(server: string | undefined): boolean {
    return server !== undefined && server !== '' && server !== this.config.server_name;
  }

  /** Another server's published room directory (`publicRooms?server=`). */
  async remotePublicRooms(server: string, query: { limit?: number; since?: string; searchTerm?: string }): Promise<PublicRoomsResponse> {
    const { pageJson } = await this.remoteRooms.queryPublicRooms({ server, limit: query.limit ?? 0, since: query.since ?? '', searchTerm: query.searchTerm ?? '' });
    return JSON.parse(pageJson) as PublicRoomsResponse;
  }

  async createAlias(requester: Requester, alias: string, roomId: string): Promise<void> {
    const name = this.localAlias(alias);
    const room = parseRoomId(roomId);
    if (!room.ok) throw new MatrixError('M_INVALID_PARAM', `${JSON.stringify(roomId)} is not a room ID`, 400);
    const membership = await this.rooms.getMembership({ roomId: room.value, userId: requester.userId });
    if (membership.membership !== 'join') throw new MatrixError('M_FORBIDDEN', 'You are not joined to the room.', 403);
    const created = await this.directory.createAlias({ alias: name, roomId: room.value, creator: requester.userId });
    if (!created.created) throw new MatrixError('M_UNKNOWN', `Room alias ${alias} already exists.`, 409);
  }

  /** Deletes an alias: its creator may, and so may whoever may set the room's canonical alias. */
  async deleteAlias(requester: Requester, alias: string): Promise<void> {
    const name = this.localAlias(alias);
    const found = await this.lookup(name);
    if (found === undefined) throw new MatrixError('M_NOT_FOUND', `Room alias ${alias} not found.`, 404);
    if (found.creator !== requester.userId && !(await this.mayManage(requester.userId, found.roomId))) {
      throw new MatrixError('M_FORBIDDEN', 'You may not delete this alias.', 403);
    }
    await this.directory.deleteAlias({ alias: name });
  }

  async listAliases(requester: Requester, roomId: string): Promise<string[]> {
    const parsed = parseRoomId(roomId);
    if (!parsed.ok) throw new MatrixError('M_INVALID_PARAM', `${JSON.stringify(roomId)} is not a room ID`, 400);
    const room = parsed.value;
    const membership = await this.rooms.getMembership({ roomId: room, userId: requester.userId });
    if (membership.membership !== 'join') {
      const visibility = (await this.rooms.getStateEvent({ roomId: room, type: 'm.room.history_visibility', stateKey: '' })).events[0];
      const worldReadable = visibility !== undefined && (JSON.parse(visibility.pduJson) as { content?: Json }).content?.['history_visibility'] === 'world_readable';
      if (!worldReadable) throw new MatrixError('M_FORBIDDEN', 'You are not a member of the room.', 403);
    }
    return (await this.directory.listAliases({ roomId: room })).aliases;
  }

  async visibility(roomId: string): Promise<string> {
    return (await this.directory.getVisibility({ roomId: knownRoom(roomId) })).visibility;
  }

  async setVisibility(requester: Requester, roomId: string, visibility: string): Promise<void> {
    if (visibility !== 'public' && visibility !== 'private') throw new MatrixError('M_INVALID_PARAM', 'visibility must be "public" or "private"', 400);
    const room = knownRoom(roomId);
    const info = await this.rooms.getRoomInfo({ roomId: room });
    if (!info.exists) throw new MatrixError('M_NOT_FOUND', 'Room not found', 404);
    if (!(await this.mayManage(requester.userId, room))) throw new MatrixError('M_FORBIDDEN', 'You may not change the visibility of this room.', 403);
    await this.directory.setVisibility({ roomId: room, visibility });
  }

  /** Publishes a room just created by its creator (no permission check needed). */
  async publish(roomId: RoomId): Promise<void> {
    await this.directory.setVisibility({ roomId, visibility: 'public' });
  }

  async reserve(requester: Requester, alias: RoomAlias, roomId: RoomId): Promise<boolean> {
    return (await this.directory.createAlias({ alias, roomId, creator: requester.userId })).created;
  }

  async isTaken(alias: RoomAlias): Promise<boolean> {
    return (await this.lookup(alias)) !== undefined;
  }

  /** The room an alias names and who made the alias, if it exists. */
  private async lookup(alias: RoomAlias): Promise<{ roomId: RoomId; creator: string } | undefined> {
    const found = await this.directory.resolveAlias({ alias });
    // The directory holds only room IDs it was given parsed (createAlias).
    return found.found ? { roomId: found.roomId as RoomId, creator: found.creator } : undefined;
  }

  /**
   * `publicRooms`: `limit`, `since` (a `next_batch`/`prev_batch` token, `o<offset>`) and a
   * generic search term.
   */
  async publicRooms(query: { limit?: number; since?: string; searchTerm?: string }): Promise<PublicRoomsResponse> {
    const offset = query.since === undefined ? 0 : parseSince(query.since);
    const limit = query.limit ?? 0;
    const page = await this.directory.listPublicRooms({ limit, offset, searchTerm: query.searchTerm ?? '' });
    const end = offset + page.rooms.length;
    return {
      chunk: page.rooms.map(publicRoomChunk),
      ...(limit > 0 && end < page.total ? { next_batch: `o${end}` } : {}),
      ...(offset > 0 ? { prev_batch: `o${Math.max(0, offset - (limit > 0 ? limit : offset))}` } : {}),
      total_room_count_estimate: page.total,
    };
  }

  /** Whether a joined user has the power to send `m.room.canonical_alias` in the room. */
  private async mayManage(userId: UserId, roomId: RoomId): Promise<boolean> {
    const info = await this.rooms.getRoomInfo({ roomId });
    const rules = getRoomVersionRules(info.roomVersion);
    if (!info.exists || !rules.ok) return false;
    const membership = await this.rooms.getMembership({ roomId, userId });
    if (membership.membership !== 'join') return false;
    const state = await this.rooms.getCurrentState({ roomId, types: ['m.room.create', 'm.room.power_levels'] });
    const authState = authStateFromEvents(state.events.map((event) => toAuthEvent(JSON.parse(event.pduJson) as Pdu, event.eventId, rules.value.eventFormat)));
    return getUserPowerLevel(userId, authState, rules.value.authorization) >= getEventPowerLevel('m.room.canonical_alias', '', authState, rules.value.authorization);
  }
}

/** A room ID of a path; one that does not parse names no room, answered as the room server answers an unknown one. */
function knownRoom(roomId: string): RoomId {
  const parsed = parseRoomId(roomId);
  if (!parsed.ok) throw new MatrixError('M_NOT_FOUND', 'Room not found', 404);
  return parsed.value;
}

function parseSince(since: string): number {
  if (!/^o\d{1,9}$/.test(since)) throw new MatrixError('M_INVALID_PARAM', `invalid since token ${JSON.stringify(since)}`, 400);
  return Number(since.slice(1));
}
