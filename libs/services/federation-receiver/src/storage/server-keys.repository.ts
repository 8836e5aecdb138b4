import type { ServerName } from '@axon/matrix-identifiers';
import { MAX_KEY_VALIDITY_MS } from '@axon/matrix-signing';
import type { DataSource } from '@axon/platform-database';

/**
 * One signing key of another server as fetched: from `verify_keys` (with the response's
 * `valid_until_ts`, as published) or from `old_verify_keys` (with its `expired_ts`), when
 * it was fetched, and the whole signed response it came in (JSON text).
 */
export type StoredServerKey = {
  readonly serverName: ServerName;
  readonly keyId: string;
  readonly verifyKey: string;
  readonly fetchedTs: number;
  readonly keyJson: string;
} & ({ readonly validUntilTs: number; readonly expiredTs?: undefined } | { readonly expiredTs: number; readonly validUntilTs?: undefined });

type Row = {
  server_name: ServerName;
  key_id: string;
  verify_key: string;
  valid_until_ts: string | null;
  expired_ts: string | null;
  fetched_ts: string;
  key_json: string;
};

function fromRow(row: Row): StoredServerKey {
  const common = { serverName: row.server_name, keyId: row.key_id, verifyKey: row.verify_key, fetchedTs: Number(row.fetched_ts), keyJson: row.key_json };
  return row.expired_ts !== null ? { ...common, expiredTs: Number(row.expired_ts) } : { ...common, validUntilTs: Number(row.valid_until_ts) };
}

/**
 * Other servers' signing keys (`server_keys`): what the key ring has fetched and checked.
 *
 * Which answer a stored key keeps when another one arrives (a later fetch, or a notary's
 * cached copy of an older response): a key that its server has moved to
 * `old_verify_keys` stays old whatever a current-key answer says (an old key is only
 * valid for events before `expired_ts`, and a notary's stale copy must not revive it);
 * between two current-key answers the one valid longer wins, counting the 7-day cap
 * from each one's fetch, so a stale copy never shortens what a fresh fetch gave.
 */
export class ServerKeysRepository {
  constructor(private readonly db: DataSource) {}

  /** The stored keys of `serverName`: those named in `keyIds`, or all of them when it is empty. */
  async keysOf(serverName: ServerName, keyIds: readonly string[] = []): Promise<StoredServerKey[]> {
    const rows = await this.db.query<Row[]>(
      `SELECT server_name, key_id, verify_key, valid_until_ts::text AS valid_until_ts, expired_ts::text AS expired_ts, fetched_ts::text AS fetched_ts, key_json
       FROM server_keys WHERE server_name = $1 AND (cardinality($2::text[]) = 0 OR key_id = ANY($2::text[])) ORDER BY key_id`,
      [serverName, keyIds],
    );
    return rows.map(fromRow);
  }

  /** Stores checked keys, each replacing the stored one as the class comment says. */
  async store(keys: readonly StoredServerKey[]): Promise<void> {
    if (keys.length === 0) return;
    await this.db.transaction(async (tx) => {
      for (const key of keys) {
        await tx.query(
          `INSERT INTO server_keys (server_name, key_id, verify_key, valid_until_ts, expired_ts, fetched_ts, key_json)
           VALUES ($1, $2, $3, $4, $5, $6, $7)
           ON CONFLICT (server_name, key_id) DO UPDATE SET verify_key = EXCLUDED.verify_key, valid_until_ts = EXCLUDED.valid_until_ts,
             expired_ts = EXCLUDED.expired_ts, fetched_ts = EXCLUDED.fetched_ts, key_json = EXCLUDED.key_json
           WHERE CASE
             WHEN EXCLUDED.expired_ts IS NOT NULL THEN server_keys.expired_ts IS NULL OR EXCLUDED.fetched_ts >= server_keys.fetched_ts
             ELSE server_keys.expired_ts IS NULL
               AND LEAST(EXCLUDED.valid_until_ts, EXCLUDED.fetched_ts + $8) >= LEAST(server_keys.valid_until_ts, server_keys.fetched_ts + $8)
           END`,
          [key.serverName, key.keyId, key.verifyKey, key.validUntilTs ?? null, key.expiredTs ?? null, key.fetchedTs, key.keyJson, MAX_KEY_VALIDITY_MS],
        );
      }
    });
  }
}
