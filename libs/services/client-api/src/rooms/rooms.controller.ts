import { MatrixError } from '@axon/matrix-errors';
import { Body, Controller, Get, HttpCode, Param, Post, Put, Query, UseGuards } from '@nestjs/common';
import type { RoomId } from '@axon/matrix-identifiers';
import { ContentBody, objectBody, optionalString, requiredString, RoomIdParam } from '@axon/platform-http';
import { AccessTokenGuard } from '../auth/access-token.guard';
import { Requester } from '../auth/requester';
import type { ClientEvent } from './client-event';
import { DirectoryService } from '../directory/directory.service';
import { RoomReadsService } from './room-reads.service';
import { RoomsService } from './rooms.service';

type Json = Readonly<Record<string, unknown>>;

function reasonOf(body: Json): Json {
  const reason = optionalString(body, 'reason');
  return reason === undefined ? {} : { reason };
}

/**
 * Rooms in the Client-Server API: creation, membership, sending events and reading
 * rooms. Every route needs an access token.
 *
 * Spec: https://spec.matrix.org/v1.19/client-server-api/#rooms
 */
/** A query parameter that may repeat (`via`, `server_name`), as a list of its string values. */
function queryList(value: unknown): string[] {
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string');
  return typeof value === 'string' ? [value] : [];
}

@Controller('_matrix/client/v3')
@UseGuards(AccessTokenGuard)
export class RoomsController {
  constructor(
    private readonly rooms: RoomsService,
    private readonly directory: DirectoryService,
    private readonly reads: RoomReadsService,
  ) {}

  @Post('createRoom')
  @HttpCode(200)
  createRoom(@Requester() requester: Requester, @Body() body: unknown): Promise<{ room_id: string }> {
    return this.rooms.createRoom(requester, objectBody(body));
  }

  @Post('rooms/:roomId/join')
  @HttpCode(200)
  async join(@Requester() requester: Requester, @Param('roomId', RoomIdParam) roomId: RoomId, @Body() body: unknown): Promise<{ room_id: string }> {
    await this.rooms.join(requester, roomId, [], reasonOf(objectBody(body)));
    return { room_id: roomId };
  }

  @Post('join/:roomIdOrAlias')
  @HttpCode(200)
  async joinByIdOrAlias(
    @Requester() requester: Requester,
    @Param('roomIdOrAlias') target: string,
    @Query('via') via: unknown,
    @Query('server_name') serverName: unknown,
    @Body() body: unknown,
  ): Promise<{ room_id: string }> {
    const { roomId, servers } = await this.directory.roomOf(target);
    await this.rooms.join(requester, roomId, [...queryList(via), ...queryList(serverName), ...servers], reasonOf(objectBody(body)));
    return { room_id: roomId };
  }

  @Post('knock/:roomIdOrAlias')
  @HttpCode(200)
  async knock(
    @Requester() requester: Requester,
    @Param('roomIdOrAlias') target: string,
    @Query('via') via: unknown,
    @Query('server_name') serverName: unknown,
    @Body() body: unknown,
  ): Promise<{ room_id: string }> {
    const { roomId, servers } = await this.directory.roomOf(target);
    await this.rooms.knock(requester, roomId, [...queryList(via), ...queryList(serverName), ...servers], reasonOf(objectBody(body)));
    return { room_id: roomId };
  }

  @Post('rooms/:roomId/invite')
  @HttpCode(200)
  async invite(@Requester() requester: Requester, @Param('roomId', RoomIdParam) roomId: RoomId, @Body() raw: unknown): Promise<Record<string, never>> {
    const body = objectBody(raw);
    await this.rooms.setMembership(requester, roomId, requiredString(body, 'user_id'), 'invite', reasonOf(body));
    return {};
  }

  @Post('rooms/:roomId/leave')
  @HttpCode(200)
  async leave(@Requester() requester: Requester, @Param('roomId', RoomIdParam) roomId: RoomId, @Body() body: unknown): Promise<Record<string, never>> {
    await this.rooms.setMembership(requester, roomId, requester.userId, 'leave', reasonOf(objectBody(body)));
    return {};
  }

  @Post('rooms/:roomId/kick')
  @HttpCode(200)
  async kick(@Requester() requester: Requester, @Param('roomId', RoomIdParam) roomId: RoomId, @Body() raw: unknown): Promise<Record<string, never>> {
    const body = objectBody(raw);
    await this.rooms.setMembership(requester, roomId, requiredString(body, 'user_id'), 'leave', reasonOf(body));
    return {};
  }

  @Post('rooms/:roomId/ban')
  @HttpCode(200)
  async ban(@Requester() requester: Requester, @Param('roomId', RoomIdParam) roomId: RoomId, @Body() raw: unknown): Promise<Record<string, never>> {
    const body = objectBody(raw);
    await this.rooms.setMembership(requester, roomId, requiredString(body, 'user_id'), 'ban', reasonOf(body));
    return {};
  }

  @Post('rooms/:roomId/unban')
  @HttpCode(200)
  async unban(@Requester() requester: Requester, @Param('roomId', RoomIdParam) roomId: RoomId, @Body() raw: unknown): Promise<Record<string, never>> {
    const body = objectBody(raw);
    await this.rooms.setMembership(requester, roomId, requiredString(body, 'user_id'), 'leave', reasonOf(body));
    return {};
  }

  /**
   * `POST /rooms/{roomId}/send/{eventType}`: the pre-v1 form without a transaction ID, which
   * Synapse still serves and older clients use; each request is a new transaction.
   */
  @Post('rooms/:roomId/send/:eventType')
  @ContentBody()
  @HttpCode(200)
  async sendWithoutTxn(@Requester() requester: Requester, @Param('roomId', RoomIdParam) roomId: RoomId, @Param('eventType') eventType: string, @Body() body: unknown): Promise<{ event_id: string }> {
    return { event_id: await this.rooms.sendMessage(requester, roomId, eventType, undefined, objectBody(body)) };
  }

  @Put('rooms/:roomId/send/:eventType/:txnId')
  @ContentBody()
  async send(
    @Requester() requester: Requester,
    @Param('roomId', RoomIdParam) roomId: RoomId,
    @Param('eventType') eventType: string,
    @Param('txnId') txnId: string,
    @Body() body: unknown,
  ): Promise<{ event_id: string }> {
    return { event_id: await this.rooms.sendMessage(requester, roomId, eventType, txnId, objectBody(body)) };
  }

  @Put('rooms/:roomId/state/:eventType')
  @ContentBody()
  async sendStateEmptyKey(@Requester() requester: Requester, @Param('roomId', RoomIdParam) roomId: RoomId, @Param('eventType') eventType: string, @Body() body: unknown): Promise<{ event_id: string }> {
    return { event_id: await this.rooms.sendState(requester, roomId, eventType, '', objectBody(body)) };
  }

  // `*` (which may be empty): "When an empty string, the trailing slash on this endpoint
  // is optional", and a state key may contain anything.
  @Put('rooms/:roomId/state/:eventType/*')
  @ContentBody()
  async sendState(
    @Requester() requester: Requester,
    @Param('roomId', RoomIdParam) roomId: RoomId,
    @Param('eventType') eventType: string,
    @Param('*') stateKey: string,
    @Body() body: unknown,
  ): Promise<{ event_id: string }> {
    return { event_id: await this.rooms.sendState(requester, roomId, eventType, stateKey, objectBody(body)) };
  }

  /** `format=event` answers the whole event (spec v1.16+), `content` (the default) its content. */
  @Get('rooms/:roomId/state/:eventType')
  async getStateEmptyKey(@Requester() requester: Requester, @Param('roomId', RoomIdParam) roomId: RoomId, @Param('eventType') eventType: string, @Query('format') format?: string): Promise<Json> {
    return stateAnswer(await this.reads.stateEvent(requester, roomId, eventType, ''), format);
  }

  @Get('rooms/:roomId/state/:eventType/*')
  async getState(
    @Requester() requester: Requester,
    @Param('roomId', RoomIdParam) roomId: RoomId,
    @Param('eventType') eventType: string,
    @Param('*') stateKey: string,
    @Query('format') format?: string,
  ): Promise<Json> {
    return stateAnswer(await this.reads.stateEvent(requester, roomId, eventType, stateKey), format);
  }

  @Get('rooms/:roomId/state')
  state(@Requester() requester: Requester, @Param('roomId', RoomIdParam) roomId: RoomId): Promise<ClientEvent[]> {
    return this.reads.state(requester, roomId);
  }

  @Put('rooms/:roomId/redact/:eventId/:txnId')
  async redact(
    @Requester() requester: Requester,
    @Param('roomId', RoomIdParam) roomId: RoomId,
    @Param('eventId') eventId: string,
    @Param('txnId') txnId: string,
    @Body() raw: unknown,
  ): Promise<{ event_id: string }> {
    const body = objectBody(raw);
    return { event_id: await this.rooms.redact(requester, roomId, eventId, txnId, optionalString(body, 'reason')) };
  }

  @Get('rooms/:roomId/event/:eventId')
  event(@Requester() requester: Requester, @Param('roomId', RoomIdParam) roomId: RoomId, @Param('eventId') eventId: string): Promise<ClientEvent> {
    return this.reads.event(requester, roomId, eventId);
  }

  @Get('rooms/:roomId/members')
  async members(
    @Requester() requester: Requester,
    @Param('roomId', RoomIdParam) roomId: RoomId,
    @Query() query: { at?: string; membership?: string; not_membership?: string },
  ): Promise<{ chunk: ClientEvent[] }> {
    return { chunk: await this.reads.members(requester, roomId, query) };
  }

  @Get('rooms/:roomId/joined_members')
  async joinedMembers(@Requester() requester: Requester, @Param('roomId', RoomIdParam) roomId: RoomId): Promise<{ joined: Record<string, unknown> }> {
    return { joined: await this.reads.joinedMembers(requester, roomId) };
  }

  @Get('rooms/:roomId/messages')
  messages(
    @Requester() requester: Requester,
    @Param('roomId', RoomIdParam) roomId: RoomId,
    @Query() query: { from?: string; to?: string; dir?: string; limit?: string; filter?: string },
  ) {
    return this.reads.messages(requester, roomId, query);
  }

  @Get('rooms/:roomId/context/:eventId')
  context(@Requester() requester: Requester, @Param('roomId', RoomIdParam) roomId: RoomId, @Param('eventId') eventId: string, @Query() query: { limit?: string; filter?: string }) {
    return this.reads.context(requester, roomId, eventId, query);
  }

  @Post('rooms/:roomId/forget')
  @HttpCode(200)
  async forget(@Requester() requester: Requester, @Param('roomId', RoomIdParam) roomId: RoomId): Promise<Record<string, never>> {
    await this.rooms.forget(requester, roomId);
    return {};
  }

  @Get('joined_rooms')
  async joinedRooms(@Requester() requester: Requester): Promise<{ joined_rooms: string[] }> {
    return { joined_rooms: await this.rooms.joinedRooms(requester) };
  }
}

function stateAnswer(event: ClientEvent, format: string | undefined): Json {
  if (format === undefined || format === 'content') return event.content;
  if (format === 'event') return event as unknown as Json;
  throw new MatrixError('M_INVALID_PARAM', 'format must be "content" or "event"', 400);
}
