import { Injectable, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AccountsDefinition } from '@axon/contracts-grpc';
import type { PresenceState } from '@axon/contracts-kafka';
import { MatrixError } from '@axon/matrix-errors';
import { DEFAULT_FILTER, parseFilter, type Filter } from '@axon/matrix-filters';
import type { UserId } from '@axon/matrix-identifiers';
import type { ServiceClient } from '@axon/platform-rpc';
import { RpcHost } from '@axon/platform-runtime';
import { PresenceService } from '../presence.service';
import { SyncService } from '../sync.service';
import { resolveRequester } from './requester';

type Json = Record<string, unknown>;

interface SyncQuery {
  since?: string;
  timeout?: string;
  full_state?: string;
  filter?: string;
  set_presence?: string;
}

/** Where the route is mounted; `r0` reaches it too (the listener rewrites legacy paths). */
export const SYNC_PATH = '/_matrix/client/v3/sync';

/**
 * `GET /_matrix/client/v3/sync`. `set_presence` (default `online`) updates the caller's
 * presence before the sync is computed.
 *
 * A Fastify route of its own rather than a Nest controller: a long-poll waits up to two
 * minutes, thousands at once, and Nest's router keeps two suspended async frames, their
 * promises and argument arrays for every request until it is answered (about 1 KB a
 * waiting poll in heap snapshots, `docs/benchmarks.md`). Everything else is as for the
 * controllers: the listener's hooks (CORS, parameter checks, metrics) are Fastify's and
 * apply to every route, and an error goes to Fastify's error handler, which Nest points at
 * the same global `MatrixExceptionFilter`.
 *
 * Spec: https://spec.matrix.org/v1.19/client-server-api/#get_matrixclientv3sync
 */
@Injectable()
export class SyncRoute implements OnModuleInit {
  private readonly accounts: ServiceClient<typeof AccountsDefinition>;

  constructor(
    private readonly adapter: HttpAdapterHost,
    private readonly sync: SyncService,
    private readonly presence: PresenceService,
    rpc: RpcHost,
  ) {
    this.accounts = rpc.client(AccountsDefinition);
  }

  /** Mounted while the application initialises, before it listens (as Nest mounts its controllers). */
  onModuleInit(): void {
    const fastify = this.adapter.httpAdapter.getInstance<FastifyInstance>();
    fastify.get(SYNC_PATH, (request) => this.get(request));
  }

  async get(request: FastifyRequest): Promise<Json> {
    const query = request.query as SyncQuery;
    const caller = await resolveRequester(this.accounts, request);
    const timeout = query.timeout === undefined ? 0 : Number(query.timeout);
    if (!Number.isFinite(timeout) || timeout < 0) throw new MatrixError('M_INVALID_PARAM', 'timeout must be a non-negative number of milliseconds', 400);
    if (query.full_state !== undefined && query.full_state !== 'true' && query.full_state !== 'false') throw new MatrixError('M_INVALID_PARAM', 'full_state must be true or false', 400);
    if (query.set_presence !== undefined && !['online', 'offline', 'unavailable'].includes(query.set_presence)) {
      throw new MatrixError('M_INVALID_PARAM', 'set_presence must be online, offline or unavailable', 400);
    }
    await this.presence.onSync(caller.userId, (query.set_presence ?? 'online') as PresenceState);
    // A client that goes away ends its long-poll instead of leaving it to wait out the timeout.
    return this.sync.sync({
      client: request.raw,
      userId: caller.userId,
      deviceId: caller.deviceId,
      ...(query.since === undefined ? {} : { since: query.since }),
      timeoutMs: timeout,
      fullState: query.full_state === 'true',
      filter: await this.filter(caller.userId, query.filter),
    });
  }

  /** The `filter` parameter: inline JSON, or the ID of a filter the user stored. */
  private async filter(userId: UserId, filter: string | undefined): Promise<Filter> {
    if (filter === undefined || filter === '') return DEFAULT_FILTER;
    if (filter.trim().startsWith('{')) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(filter);
      } catch (error) {
        throw new MatrixError('M_NOT_JSON', `filter is not valid JSON: ${(error as Error).message}`, 400);
      }
      return parseFilter(parsed);
    }
    const stored = await this.accounts.getFilter({ userId, filterId: filter });
    if (!stored.found) throw new MatrixError('M_INVALID_PARAM', `unknown filter ${JSON.stringify(filter)}`, 400);
    return parseFilter(JSON.parse(stored.filterJson));
  }
}
