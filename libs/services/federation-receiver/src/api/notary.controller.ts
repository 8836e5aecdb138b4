import { Body, Controller, Get, Header, HttpCode, Param, Post, Query } from '@nestjs/common';
import type { JsonObject } from '@axon/matrix-canonical-json';
import { MatrixError } from '@axon/matrix-errors';
import { parseServerName, type ServerName } from '@axon/matrix-identifiers';
import { signJson } from '@axon/matrix-signing';
import { KeyRing } from '../keys/key-ring';
import { isJsonObject } from '../keys/key-response';
import { OwnServerKeys } from '../keys/own-server-keys';

/** The body of both notary endpoints: the queried servers' key responses, each signed by this server too. */
export interface NotaryResponse {
  readonly server_keys: JsonObject[];
}

/** One server of a query: the key IDs asked for (none: all) and until when they must be valid. */
interface ServerQuery {
  readonly server: ServerName;
  readonly keyIds: readonly string[];
  readonly minimumValidUntilTs: number;
}

const badJson = (message: string): MatrixError => new MatrixError('M_BAD_JSON', message, 400);

/**
 * Reads the body of `POST /_matrix/key/v2/query`: `server_keys`, server name to key ID to
 * `{minimum_valid_until_ts}`. A key without a minimum is asked valid until now; a
 * server's keys are looked up valid until the latest minimum asked for any of them.
 */
function parseBulkQuery(body: unknown, nowTs: number): ServerQuery[] {
  if (!isJsonObject(body)) throw new MatrixError('M_MISSING_PARAM', 'Missing "server_keys"', 400);
  if (!Object.hasOwn(body, 'server_keys')) throw new MatrixError('M_MISSING_PARAM', 'Missing "server_keys"', 400);
  const serverKeys = body['server_keys'];
  if (!isJsonObject(serverKeys)) throw badJson('"server_keys" must be an object');
  return Object.entries(serverKeys).map(([name, keys]) => {
    const server = parseServerName(name);
    if (!server.ok) throw badJson(`server_keys: ${JSON.stringify(name)} is not a server name: ${server.error}`);
    if (!isJsonObject(keys)) throw badJson(`server_keys.${name} must be an object of key IDs`);
    let minimumValidUntilTs = nowTs;
    for (const [keyId, criteria] of Object.entries(keys)) {
      if (!isJsonObject(criteria)) throw badJson(`server_keys.${name}.${keyId} must be an object`);
      const minimum = Object.hasOwn(criteria, 'minimum_valid_until_ts') ? criteria['minimum_valid_until_ts'] : undefined;
      if (minimum === undefined) continue;
      if (typeof minimum !== 'number' || !Number.isSafeInteger(minimum)) throw badJson(`server_keys.${name}.${keyId}.minimum_valid_until_ts must be an integer`);
      minimumValidUntilTs = Math.max(minimumValidUntilTs, minimum);
    }
    return { server: server.value, keyIds: Object.keys(keys), minimumValidUntilTs };
  });
}

/**
 * The notary endpoints (Server-Server API "Querying Keys Through Another Server"): other
 * servers' keys, from the key ring (fetched when the stored ones are not valid until the
 * minimum asked for; the stored ones answer when the server cannot be reached), each
 * response as its server signed it, with this server's signature added. This server's own
 * name is answered with its own keys. Unauthenticated, as the spec has them.
 *
 * Spec: https://spec.matrix.org/v1.19/server-server-api/#querying-keys-through-another-server
 */
@Controller('_matrix/key/v2/query')
export class NotaryController {
  constructor(
    private readonly keyRing: KeyRing,
    private readonly own: OwnServerKeys,
  ) {}

  @Get(':serverName')
  @Header('cache-control', 'no-cache')
  async queryServer(@Param('serverName') serverName: string, @Query('minimum_valid_until_ts') minimum: string | undefined): Promise<NotaryResponse> {
    const server = parseServerName(serverName);
    if (!server.ok) throw new MatrixError('M_INVALID_PARAM', `serverName is not a server name: ${server.error}`, 400);
    // The HTTP layer has checked that the parameter, when given, is one integer.
    return this.answer([{ server: server.value, keyIds: [], minimumValidUntilTs: minimum === undefined ? Date.now() : Number(minimum) }]);
  }

  @Post()
  @HttpCode(200)
  @Header('cache-control', 'no-cache')
  async queryServers(@Body() body: unknown): Promise<NotaryResponse> {
    return this.answer(parseBulkQuery(body, Date.now()));
  }

  private async answer(queries: readonly ServerQuery[]): Promise<NotaryResponse> {
    const responses = await Promise.all(queries.map((q) => this.keyRing.keyResponsesFor(q.server, q.keyIds, { minimumValidUntilTs: q.minimumValidUntilTs })));
    const { serverName, signingKey, backend } = this.own.settings;
    return { server_keys: responses.flat().map((response) => signJson(response, { serverName, key: signingKey, backend })) };
  }
}
