import { Body, Controller, Get, HttpCode, Param, Post, UseGuards } from '@nestjs/common';
import { MatrixError } from '@axon/matrix-errors';
import { parseFilter } from '@axon/matrix-filters';
import { AccessTokenGuard } from '../auth/access-token.guard';
import { Requester } from '../auth/requester';
import { FiltersRepository } from '../storage/filters.repository';

/** Filters (Client-Server API, "Filtering"); a user uploads and reads only their own. */
@Controller('_matrix/client/v3/user/:userId/filter')
@UseGuards(AccessTokenGuard)
export class FiltersController {
  constructor(private readonly filters: FiltersRepository) {}

  @Post()
  @HttpCode(200)
  async create(@Requester() requester: Requester, @Param('userId') userId: string, @Body() body: unknown): Promise<{ filter_id: string }> {
    if (userId !== requester.userId) throw new MatrixError('M_FORBIDDEN', 'Cannot create filters for other users', 403);
    // Validated only: the definition is stored as uploaded (extension keys included), as GET returns it.
    parseFilter(body);
    return { filter_id: await this.filters.insert(requester.userId, body) };
  }

  @Get(':filterId')
  async get(@Requester() requester: Requester, @Param('userId') userId: string, @Param('filterId') filterId: string): Promise<unknown> {
    if (userId !== requester.userId) throw new MatrixError('M_FORBIDDEN', "Cannot read other users' filters", 403);
    const filter = await this.filters.find(requester.userId, filterId);
    if (filter === undefined) throw new MatrixError('M_NOT_FOUND', 'No such filter', 404);
    return filter;
  }
}
