import { Body, Controller, HttpCode, Param, Post, UseGuards } from '@nestjs/common';
import { MatrixError } from '@axon/matrix-errors';
import { getUserIdServerName, parseHistoricalUserId, type RoomId } from '@axon/matrix-identifiers';
import type { AxonConfig } from '@axon/platform-config';
import { RoomIdParam, objectBody, optionalString, type JsonObject } from '@axon/platform-http';
import { InjectConfig } from '@axon/platform-runtime';
import { AccessTokenGuard } from '../auth/access-token.guard';
import { RateLimits } from '../auth/rate-limits';
import { Requester } from '../auth/requester';
import { RoomQueryClient } from '../rooms/room-query.client';
import { RoomReadsService } from '../rooms/room-reads.service';
import { ReportsRepository } from '../storage/reports.repository';
import { UsersRepository } from '../storage/users.repository';

/** Longest reason a user report may give, as Synapse limits it. */
const MAX_USER_REPORT_REASON = 1000;

/** `reason`, which must be present and a string (Synapse's `StrictStr` model: `M_BAD_JSON`, `M_MISSING_PARAM` when absent). */
function requiredReason(body: JsonObject): string {
  const reason = body['reason'];
  if (reason === undefined) throw new MatrixError('M_MISSING_PARAM', 'Missing "reason"', 400);
  if (typeof reason !== 'string') throw new MatrixError('M_BAD_JSON', '"reason" must be a string', 400);
  return reason;
}

/**
 * Reporting content (Client-Server API, "Reporting content"): events, rooms and users,
 * stored for the server's admins. An event is reported only by a user who can see it
 * (a member, as the spec says; a former member up to their leave, as Synapse checks it
 * with the history visibility rules); a room by anyone, if it exists here; a user by
 * anyone, with 200 whether or not the user exists (Synapse hides that, as the spec allows).
 */
@Controller('_matrix/client/v3')
@UseGuards(AccessTokenGuard)
export class ReportsController {
  constructor(
    @InjectConfig() private readonly config: AxonConfig,
    private readonly reports: ReportsRepository,
    private readonly roomReads: RoomReadsService,
    private readonly roomQuery: RoomQueryClient,
    private readonly users: UsersRepository,
    private readonly rateLimits: RateLimits,
  ) {}

  @Post('rooms/:roomId/report/:eventId')
  @HttpCode(200)
  async reportEvent(@Requester() requester: Requester, @Param('roomId', RoomIdParam) roomId: RoomId, @Param('eventId') eventId: string, @Body() raw: unknown): Promise<Record<string, never>> {
    const body = objectBody(raw);
    const reason = optionalString(body, 'reason');
    // The `score` of earlier spec versions, still checked as Synapse checks it.
    if (body['score'] !== undefined && !Number.isInteger(body['score'])) throw new MatrixError('M_BAD_JSON', "Param 'score' must be an integer", 400);
    // The spec's 404 covers events that do not exist, that the user cannot see, and
    // (as Synapse does) redacted ones.
    const event = await this.roomReads.event(requester, roomId, eventId).catch((error: unknown) => {
      throw error instanceof MatrixError && (error.errcode === 'M_NOT_FOUND' || error.errcode === 'M_FORBIDDEN') ? notFoundEvent() : error;
    });
    if (event.unsigned?.['redacted_because'] !== undefined) throw notFoundEvent();
    await this.reports.addEventReport({ roomId, eventId: event.event_id, userId: requester.userId, reason, content: body });
    return {};
  }

  @Post('rooms/:roomId/report')
  @HttpCode(200)
  async reportRoom(@Requester() requester: Requester, @Param('roomId', RoomIdParam) roomId: RoomId, @Body() raw: unknown): Promise<Record<string, never>> {
    const reason = requiredReason(objectBody(raw));
    const info = await this.roomQuery.getRoomInfo({ roomId });
    if (!info.exists) throw new MatrixError('M_NOT_FOUND', 'Room does not exist', 404);
    await this.reports.addRoomReport({ roomId, userId: requester.userId, reason });
    return {};
  }

  @Post('users/:userId/report')
  @HttpCode(200)
  async reportUser(@Requester() requester: Requester, @Param('userId') userId: string, @Body() raw: unknown): Promise<Record<string, never>> {
    const reason = requiredReason(objectBody(raw));
    const target = parseHistoricalUserId(userId);
    if (!target.ok) throw new MatrixError('M_INVALID_PARAM', `${JSON.stringify(userId)} is not a user ID`, 400);
    await this.rateLimits.enforce('reports', requester.userId);
    if (reason.length > MAX_USER_REPORT_REASON) throw new MatrixError('M_BAD_JSON', 'Reason must be less than 1000 characters', 400);
    // Users of other servers, and unknown ones, are acknowledged and not kept: the answer
    // does not tell whether the user exists.
    if (getUserIdServerName(target.value) !== this.config.server_name) return {};
    if ((await this.users.find(target.value)) === undefined) return {};
    await this.reports.addUserReport({ targetUserId: target.value, userId: requester.userId, reason });
    return {};
  }
}

function notFoundEvent(): MatrixError {
  return new MatrixError('M_NOT_FOUND', "Unable to report event: it does not exist or you aren't able to see it.", 404);
}
