import { Body, Controller, Get, HttpCode, Param, Post, Query, UseGuards } from '@nestjs/common';
import type { JsonValue } from '@axon/matrix-canonical-json';
import { MatrixError } from '@axon/matrix-errors';
import type { RoomId, ServerName } from '@axon/matrix-identifiers';
import { objectBody, RoomIdParam } from '@axon/platform-http';
import { RoomHistory } from '../serving/room-history';
import { Origin } from './origin';
import { XMatrixGuard } from './x-matrix.guard';

function requiredQuery(value: unknown, name: string): string {
  if (typeof value !== 'string' || value === '') throw new MatrixError('M_MISSING_PARAM', `${name} is required`, 400);
  return value;
}

function integer(value: unknown, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = typeof value === 'number' ? value : typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n)) throw new MatrixError('M_INVALID_PARAM', `${name} must be a non-negative integer`, 400);
  return n;
}

function eventIdList(value: unknown, name: string): string[] {
  if (!Array.isArray(value) || value.some((id) => typeof id !== 'string')) throw new MatrixError('M_BAD_JSON', `${name} must be an array of event IDs`, 400);
  return value as string[];
}

/**
 * Reads of a room by a server in it: events, the state at an event, auth chains,
 * backfill and missing events.
 *
 * Spec: https://spec.matrix.org/v1.19/server-server-api/#retrieving-events
 */
@Controller('_matrix/federation/v1')
@UseGuards(XMatrixGuard)
export class RoomHistoryController {
  constructor(private readonly history: RoomHistory) {}

  @Get('event/:eventId')
  event(@Origin() origin: ServerName, @Param('eventId') eventId: string): Promise<{ origin: string; origin_server_ts: number; pdus: JsonValue[] }> {
    return this.history.event(origin, eventId);
  }

  @Get('state/:roomId')
  async state(@Origin() origin: ServerName, @Param('roomId', RoomIdParam) roomId: RoomId, @Query('event_id') eventId: unknown): Promise<{ pdus: JsonValue[]; auth_chain: JsonValue[] }> {
    const at = await this.history.stateAt(origin, roomId, requiredQuery(eventId, 'event_id'));
    return { pdus: at.state, auth_chain: at.authChain };
  }

  @Get('state_ids/:roomId')
  async stateIds(@Origin() origin: ServerName, @Param('roomId', RoomIdParam) roomId: RoomId, @Query('event_id') eventId: unknown): Promise<{ pdu_ids: string[]; auth_chain_ids: string[] }> {
    const at = await this.history.stateAt(origin, roomId, requiredQuery(eventId, 'event_id'));
    return { pdu_ids: at.stateIds, auth_chain_ids: at.authChainIds };
  }

  @Get('event_auth/:roomId/:eventId')
  eventAuth(@Origin() origin: ServerName, @Param('roomId', RoomIdParam) roomId: RoomId, @Param('eventId') eventId: string): Promise<{ auth_chain: JsonValue[] }> {
    return this.history.eventAuth(origin, roomId, eventId);
  }

  @Get('backfill/:roomId')
  backfill(@Origin() origin: ServerName, @Param('roomId', RoomIdParam) roomId: RoomId, @Query('v') v: unknown, @Query('limit') limit: unknown): Promise<{ origin: string; origin_server_ts: number; pdus: JsonValue[] }> {
    const from = Array.isArray(v) ? v.filter((id): id is string => typeof id === 'string') : [requiredQuery(v, 'v')];
    return this.history.backfill(origin, roomId, from, integer(limit, 'limit', 10));
  }

  @Post('get_missing_events/:roomId')
  @HttpCode(200)
  missingEvents(@Origin() origin: ServerName, @Param('roomId', RoomIdParam) roomId: RoomId, @Body() body: unknown): Promise<{ events: JsonValue[] }> {
    const request = objectBody(body);
    return this.history.missingEvents(origin, roomId, {
      earliest: eventIdList(request['earliest_events'], 'earliest_events'),
      latest: eventIdList(request['latest_events'], 'latest_events'),
      limit: integer(request['limit'], 'limit', 10),
      minDepth: integer(request['min_depth'], 'min_depth', 0),
    });
  }
}
