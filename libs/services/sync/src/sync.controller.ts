import { Controller, Get, Query, Req } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { AccountsDefinition } from '@axon/contracts-grpc';
import { MatrixError } from '@axon/matrix-errors';
import type { ServiceClient } from '@axon/platform-rpc';
import { RpcHost } from '@axon/platform-runtime';
import { SyncService, syncFilterOf, type SyncFilter } from './sync.service';

type Json = Record<string, unknown>;

/** The access token of a request: `Authorization: Bearer`, or the `access_token` query parameter. */
function accessTokenOf(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  const match = typeof header === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
  if (match) return match[1];
  const param = (request.query as Json | undefined)?.['access_token'];
  return typeof param === 'string' && param !== '' ? param : undefined;
}

/**
 * `GET /_matrix/client/v3/sync`. The caller's token is resolved by client-api
 * (`Accounts`), which owns tokens, so a revoked token is refused at once here too.
 *
 * Spec: https://spec.matrix.org/v1.19/client-server-api/#get_matrixclientv3sync
 */
@Controller('_matrix/client/v3')
export class SyncController {
  private readonly accounts: ServiceClient<typeof AccountsDefinition>;

  constructor(
    private readonly sync: SyncService,
    rpc: RpcHost,
  ) {
    this.accounts = rpc.client(AccountsDefinition);
  }

  @Get('sync')
  async get(@Req() request: FastifyRequest, @Query() query: { since?: string; timeout?: string; full_state?: string; filter?: string; set_presence?: string }): Promise<Json> {
    const token = accessTokenOf(request);
    if (token === undefined) throw new MatrixError('M_MISSING_TOKEN', 'Missing access token', 401);
    const caller = await this.accounts.resolveAccessToken({ accessToken: token, ip: request.ip });
    if (!caller.valid) throw new MatrixError('M_UNKNOWN_TOKEN', 'Unrecognised access token', 401, { soft_logout: caller.softLogout });
    const timeout = query.timeout === undefined ? 0 : Number(query.timeout);
    if (!Number.isFinite(timeout) || timeout < 0) throw new MatrixError('M_INVALID_PARAM', 'timeout must be a non-negative number of milliseconds', 400);
    if (query.full_state !== undefined && query.full_state !== 'true' && query.full_state !== 'false') throw new MatrixError('M_INVALID_PARAM', 'full_state must be true or false', 400);
    if (query.set_presence !== undefined && !['online', 'offline', 'unavailable'].includes(query.set_presence)) {
      throw new MatrixError('M_INVALID_PARAM', 'set_presence must be online, offline or unavailable', 400);
    }
    // A client that goes away ends its long-poll instead of leaving it to wait out the timeout.
    const aborted = new AbortController();
    request.raw.once('close', () => aborted.abort());
    return this.sync.sync({
      signal: aborted.signal,
      userId: caller.userId,
      ...(query.since === undefined ? {} : { since: query.since }),
      timeoutMs: timeout,
      fullState: query.full_state === 'true',
      filter: await this.filter(caller.userId, query.filter),
    });
  }

  /** The `filter` parameter: inline JSON, or the ID of a filter the user stored. */
  private async filter(userId: string, filter: string | undefined): Promise<SyncFilter> {
    if (filter === undefined || filter === '') return syncFilterOf(undefined);
    if (filter.trim().startsWith('{')) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(filter);
      } catch (error) {
        throw new MatrixError('M_NOT_JSON', `filter is not valid JSON: ${(error as Error).message}`, 400);
      }
      return syncFilterOf(parsed);
    }
    const stored = await this.accounts.getFilter({ userId, filterId: filter });
    if (!stored.found) throw new MatrixError('M_INVALID_PARAM', `unknown filter ${JSON.stringify(filter)}`, 400);
    return syncFilterOf(JSON.parse(stored.filterJson));
  }
}
