import { Body, Controller, Get, HttpCode, Post, Query, UseGuards } from '@nestjs/common';
import { MatrixError } from '@axon/matrix-errors';
import { objectBody } from '@axon/platform-http';
import { DirectoryQueries, type PublicRoomsPage } from '../serving/directory-queries';
import { XMatrixGuard } from './x-matrix.guard';

function requiredString(value: unknown, name: string): string {
  if (typeof value !== 'string' || value === '') throw new MatrixError('M_MISSING_PARAM', `${name} is required`, 400);
  return value;
}

function optionalLimit(value: unknown): number | undefined {
  if (value === undefined) return undefined;
  const n = typeof value === 'number' ? value : typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n)) throw new MatrixError('M_INVALID_PARAM', 'limit must be a non-negative integer', 400);
  return n;
}

/**
 * Queries other servers make of this one: a user's profile, an alias, the published room
 * directory.
 *
 * Spec: https://spec.matrix.org/v1.19/server-server-api/#querying-for-information
 */
@Controller('_matrix/federation/v1')
@UseGuards(XMatrixGuard)
export class QueriesController {
  constructor(private readonly queries: DirectoryQueries) {}

  @Get('query/profile')
  profile(@Query('user_id') userId: unknown, @Query('field') field: unknown): Promise<{ displayname?: string; avatar_url?: string }> {
    return this.queries.profile(requiredString(userId, 'user_id'), field === undefined ? undefined : requiredString(field, 'field'));
  }

  @Get('query/directory')
  directory(@Query('room_alias') alias: unknown): Promise<{ room_id: string; servers: string[] }> {
    return this.queries.alias(requiredString(alias, 'room_alias'));
  }

  @Get('publicRooms')
  publicRooms(@Query('limit') limit: unknown, @Query('since') since: unknown): Promise<PublicRoomsPage> {
    return this.queries.publicRooms({ limit: optionalLimit(limit), ...(typeof since === 'string' ? { since } : {}) });
  }

  @Post('publicRooms')
  @HttpCode(200)
  searchPublicRooms(@Body() raw: unknown): Promise<PublicRoomsPage> {
    const body = objectBody(raw);
    const filter = body['filter'];
    const term = typeof filter === 'object' && filter !== null ? (filter as Record<string, unknown>)['generic_search_term'] : undefined;
    return this.queries.publicRooms({
      limit: optionalLimit(body['limit']),
      ...(typeof body['since'] === 'string' ? { since: body['since'] } : {}),
      ...(typeof term === 'string' ? { searchTerm: term } : {}),
    });
  }
}
