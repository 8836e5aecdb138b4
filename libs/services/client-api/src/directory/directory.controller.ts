import { Body, Controller, Delete, Get, HttpCode, Param, Post, Put, Query, UseGuards } from '@nestjs/common';
import { MatrixError } from '@axon/matrix-errors';
import { objectBody, optionalString, requiredString } from '@axon/platform-http';
import { AccessTokenGuard } from '../auth/access-token.guard';
import { Requester } from '../auth/requester';
import { DirectoryService, type PublicRoomsResponse } from './directory.service';


/** The largest `limit` the room directory's contract carries (a uint32); more rooms than that there are not. */
const MAX_PUBLIC_ROOMS_LIMIT = 0xffff_ffff;

function limitOf(value: unknown): number | undefined {
  if (value === undefined) return undefined;
  const limit = typeof value === 'string' ? Number(value) : value;
  if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 0) throw new MatrixError('M_INVALID_PARAM', 'limit must be a non-negative integer', 400);
  return Math.min(limit, MAX_PUBLIC_ROOMS_LIMIT);
}

/**
 * Room aliases and the published room directory (Client-Server API "Room aliases",
 * "Published room directory").
 *
 * Spec: https://spec.matrix.org/v1.19/client-server-api/#published-room-directory
 */
@Controller('_matrix/client/v3')
export class DirectoryController {
  constructor(private readonly directory: DirectoryService) {}

  @Put('directory/room/:roomAlias')
  @UseGuards(AccessTokenGuard)
  async createAlias(@Requester() requester: Requester, @Param('roomAlias') alias: string, @Body() body: unknown): Promise<Record<string, never>> {
    await this.directory.createAlias(requester, alias, requiredString(objectBody(body), 'room_id'));
    return {};
  }

  @Get('directory/room/:roomAlias')
  resolve(@Param('roomAlias') alias: string): Promise<{ room_id: string; servers: string[] }> {
    return this.directory.resolve(this.directory.aliasOf(alias));
  }

  @Delete('directory/room/:roomAlias')
  @UseGuards(AccessTokenGuard)
  async deleteAlias(@Requester() requester: Requester, @Param('roomAlias') alias: string): Promise<Record<string, never>> {
    await this.directory.deleteAlias(requester, alias);
    return {};
  }

  @Get('rooms/:roomId/aliases')
  @UseGuards(AccessTokenGuard)
  async aliases(@Requester() requester: Requester, @Param('roomId') roomId: string): Promise<{ aliases: string[] }> {
    return { aliases: await this.directory.listAliases(requester, roomId) };
  }

  @Get('directory/list/room/:roomId')
  async visibility(@Param('roomId') roomId: string): Promise<{ visibility: string }> {
    return { visibility: await this.directory.visibility(roomId) };
  }

  @Put('directory/list/room/:roomId')
  @UseGuards(AccessTokenGuard)
  async setVisibility(@Requester() requester: Requester, @Param('roomId') roomId: string, @Body() body: unknown): Promise<Record<string, never>> {
    await this.directory.setVisibility(requester, roomId, optionalString(objectBody(body), 'visibility') ?? 'public');
    return {};
  }

  @Get('publicRooms')
  publicRooms(@Query() query: { limit?: string; since?: string; server?: string }): Promise<PublicRoomsResponse> {
    const page = { limit: limitOf(query.limit), ...(query.since === undefined ? {} : { since: query.since }) };
    return this.directory.isOtherServer(query.server) ? this.directory.remotePublicRooms(query.server!, page) : this.directory.publicRooms(page);
  }

  @Post('publicRooms')
  @HttpCode(200)
  @UseGuards(AccessTokenGuard)
  publicRoomsFiltered(@Body() raw: unknown, @Query('server') server: string | undefined): Promise<PublicRoomsResponse> {
    const body = objectBody(raw);
    const filter = body['filter'];
    if (filter !== undefined && (typeof filter !== 'object' || filter === null || Array.isArray(filter))) throw new MatrixError('M_BAD_JSON', '"filter" must be an object', 400);
    const term = filter === undefined ? undefined : (filter as Record<string, unknown>)['generic_search_term'];
    if (term !== undefined && typeof term !== 'string') throw new MatrixError('M_BAD_JSON', '"generic_search_term" must be a string', 400);
    const since = optionalString(body, 'since');
    const page = { limit: limitOf(body['limit']), ...(since === undefined ? {} : { since }), ...(term === undefined ? {} : { searchTerm: term }) };
    return this.directory.isOtherServer(server) ? this.directory.remotePublicRooms(server!, page) : this.directory.publicRooms(page);
  }
}
