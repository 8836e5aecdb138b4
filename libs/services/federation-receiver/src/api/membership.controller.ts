import { Body, Controller, Get, Param, Put, Query, UseGuards } from '@nestjs/common';
import type { JsonObject, JsonValue } from '@axon/matrix-canonical-json';
import { parseUserId, type RoomId, type ServerName, type UserId } from '@axon/matrix-identifiers';
import { objectBody, parsedParam, RoomIdParam } from '@axon/platform-http';
import { InviteReception } from '../serving/invite-reception';
import { MembershipHandshake } from '../serving/membership-handshake';
import { OwnServerName } from './own-server-name';
import { Origin } from './origin';
import { XMatrixGuard } from './x-matrix.guard';

const UserIdParam = parsedParam(parseUserId, 'user ID');

/** `ver` as a list: repeated, or once, or absent (room version 1, as the spec defaults). */
function versionsOf(ver: unknown): string[] {
  if (Array.isArray(ver)) return ver.filter((v): v is string => typeof v === 'string');
  return typeof ver === 'string' ? [ver] : ['1'];
}

/**
 * The membership handshakes another server's users make with this server as a resident:
 * joins (`make_join`, `send_join` v2), leaves (`make_leave`, `send_leave` v2) and knocks
 * (`make_knock`, `send_knock`); and invites of this server's users (`invite` v2). The v1 `send_join`/`send_leave` were removed in v1.18.
 *
 * Spec: https://spec.matrix.org/v1.19/server-server-api/#joining-rooms
 */
@Controller('_matrix/federation')
@UseGuards(XMatrixGuard)
export class MembershipController {
  constructor(
    private readonly handshake: MembershipHandshake,
    private readonly invites: InviteReception,
    private readonly serverName: OwnServerName,
  ) {}

  @Get('v1/make_join/:roomId/:userId')
  makeJoin(@Origin() origin: ServerName, @Param('roomId', RoomIdParam) roomId: RoomId, @Param('userId', UserIdParam) userId: UserId, @Query('ver') ver: unknown): Promise<{ room_version: string; event: JsonObject }> {
    return this.handshake.make(origin, roomId, userId, 'join', versionsOf(ver));
  }

  @Put('v2/send_join/:roomId/:eventId')
  async sendJoin(@Origin() origin: ServerName, @Param('roomId', RoomIdParam) roomId: RoomId, @Param('eventId') eventId: string, @Body() body: unknown): Promise<Record<string, JsonValue>> {
    const joined = await this.handshake.send(origin, roomId, eventId, body, 'join');
    // The whole state, always: `members_omitted` is left out (omit_members is not offered).
    return { origin: this.serverName.value, state: joined.state ?? [], auth_chain: joined.authChain ?? [], event: joined.event };
  }

  @Get('v1/make_leave/:roomId/:userId')
  makeLeave(@Origin() origin: ServerName, @Param('roomId', RoomIdParam) roomId: RoomId, @Param('userId', UserIdParam) userId: UserId): Promise<{ room_version: string; event: JsonObject }> {
    return this.handshake.make(origin, roomId, userId, 'leave', []);
  }

  @Put('v2/send_leave/:roomId/:eventId')
  async sendLeave(@Origin() origin: ServerName, @Param('roomId', RoomIdParam) roomId: RoomId, @Param('eventId') eventId: string, @Body() body: unknown): Promise<Record<string, never>> {
    await this.handshake.send(origin, roomId, eventId, body, 'leave');
    return {};
  }

  @Put('v2/invite/:roomId/:eventId')
  invite(@Origin() origin: ServerName, @Param('roomId', RoomIdParam) roomId: RoomId, @Param('eventId') eventId: string, @Body() body: unknown): Promise<{ event: JsonObject }> {
    return this.invites.receive(origin, roomId, eventId, objectBody(body));
  }

  @Get('v1/make_knock/:roomId/:userId')
  makeKnock(@Origin() origin: ServerName, @Param('roomId', RoomIdParam) roomId: RoomId, @Param('userId', UserIdParam) userId: UserId, @Query('ver') ver: unknown): Promise<{ room_version: string; event: JsonObject }> {
    return this.handshake.make(origin, roomId, userId, 'knock', versionsOf(ver));
  }

  @Put('v1/send_knock/:roomId/:eventId')
  async sendKnock(@Origin() origin: ServerName, @Param('roomId', RoomIdParam) roomId: RoomId, @Param('eventId') eventId: string, @Body() body: unknown): Promise<{ knock_room_state: JsonValue[] }> {
    const knocked = await this.handshake.send(origin, roomId, eventId, body, 'knock');
    return { knock_room_state: knocked.strippedState ?? [] };
  }
}
