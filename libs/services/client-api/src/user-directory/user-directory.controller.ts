import { Body, Controller, HttpCode, Post, UseGuards } from '@nestjs/common';
import { MatrixError } from '@axon/matrix-errors';
import { objectBody } from '@axon/platform-http';
import { AccessTokenGuard } from '../auth/access-token.guard';
import { RateLimits } from '../auth/rate-limits';
import { Requester } from '../auth/requester';
import { UserDirectoryRepository, type DirectoryEntry } from '../storage/user-directory.repository';
import { searchWords } from './search-words';

/** Synapse's default and ceiling for `limit`. */
const DEFAULT_LIMIT = 10;
const MAX_LIMIT = 50;

/**
 * `POST /user_directory/search` (Client-Server API, "User directory"): users who share a
 * room with the searcher or are joined to a public (or world-readable) room, as Synapse
 * searches with its default `search_all_users: false`. Guests may not search.
 */
@Controller('_matrix/client/v3/user_directory/search')
@UseGuards(AccessTokenGuard)
export class UserDirectoryController {
  constructor(
    private readonly directory: UserDirectoryRepository,
    private readonly rateLimits: RateLimits,
  ) {}

  @Post()
  @HttpCode(200)
  async search(@Requester() requester: Requester, @Body() raw: unknown): Promise<{ limited: boolean; results: DirectoryEntry[] }> {
    if (requester.isGuest) throw new MatrixError('M_GUEST_ACCESS_FORBIDDEN', 'Guest access not allowed', 403);
    await this.rateLimits.enforce('user_directory', requester.userId);
    const body = objectBody(raw);
    const rawLimit = body['limit'] ?? DEFAULT_LIMIT;
    if (typeof rawLimit !== 'number' || !Number.isFinite(rawLimit)) throw new MatrixError('M_INVALID_PARAM', '"limit" must be an integer', 400);
    const limit = Math.max(0, Math.min(Math.trunc(rawLimit), MAX_LIMIT));
    const term = body['search_term'];
    if (term === undefined || term === null) throw new MatrixError('M_UNKNOWN', '`search_term` is required field', 400);
    if (typeof term !== 'string') throw new MatrixError('M_BAD_JSON', '"search_term" must be a string', 400);
    // One more than asked tells whether the list was cut.
    const found = await this.directory.search(requester.userId, searchWords(term), limit + 1);
    return { limited: found.length > limit, results: found.slice(0, limit) };
  }
}
