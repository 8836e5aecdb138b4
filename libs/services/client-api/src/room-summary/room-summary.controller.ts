import { Controller, Get, Param, Query, UseGuards } from '@nestjs/common';
import { OptionalAccessTokenGuard } from '../auth/optional-access-token.guard';
import { OptionalRequester, type Requester } from '../auth/requester';
import { DirectoryService } from '../directory/directory.service';
import { RoomSummaryService, type RoomSummary } from './room-summary.service';

/**
 * `GET /_matrix/client/v1/room_summary/{roomIdOrAlias}` (Client-Server API, "Room
 * summaries"), with or without an access token (the spec lets servers answer anonymous
 * callers about rooms anyone may see; Synapse does), and the two MSC3266 paths Synapse
 * still serves (`im.nheko.summary`), which clients released before the stable path use.
 */
@Controller('_matrix/client')
@UseGuards(OptionalAccessTokenGuard)
export class RoomSummaryController {
  constructor(
    private readonly summaries: RoomSummaryService,
    private readonly directory: DirectoryService,
  ) {}

  @Get('v1/room_summary/:roomIdOrAlias')
  stable(@OptionalRequester() requester: Requester | undefined, @Param('roomIdOrAlias') roomIdOrAlias: string, @Query('via') via: unknown): Promise<RoomSummary> {
    return this.summary(requester, roomIdOrAlias, via);
  }

  @Get('unstable/im.nheko.summary/summary/:roomIdOrAlias')
  unstable(@OptionalRequester() requester: Requester | undefined, @Param('roomIdOrAlias') roomIdOrAlias: string, @Query('via') via: unknown): Promise<RoomSummary> {
    return this.summary(requester, roomIdOrAlias, via);
  }

  @Get('unstable/im.nheko.summary/rooms/:roomIdOrAlias/summary')
  unstableDeprecated(@OptionalRequester() requester: Requester | undefined, @Param('roomIdOrAlias') roomIdOrAlias: string, @Query('via') via: unknown): Promise<RoomSummary> {
    return this.summary(requester, roomIdOrAlias, via);
  }

  private async summary(requester: Requester | undefined, roomIdOrAlias: string, via: unknown): Promise<RoomSummary> {
    const roomId = await this.directory.roomIdOf(roomIdOrAlias);
    const servers = via === undefined ? [] : (Array.isArray(via) ? via : [via]).filter((server): server is string => typeof server === 'string');
    return this.summaries.summary(requester?.userId, roomId, servers);
  }
}
