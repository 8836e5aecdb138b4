import type { MigrationInterface, QueryRunner } from '@axon/platform-database';

/**
 * Schema `federation_receiver`: other servers' signing keys, one row per (server, key ID),
 * each with the signed `/_matrix/key/v2/server` response it came from (the notary
 * endpoints serve that response again, with this server's signature added). A current
 * key has `valid_until_ts` (as published; readers cap it at 7 days after `fetched_ts`),
 * an old key `expired_ts`, never both.
 */
export class FederationReceiverServerKeys1765700000000 implements MigrationInterface {
  readonly name = 'FederationReceiverServerKeys1765700000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE server_keys (
        server_name text NOT NULL,
        key_id text NOT NULL,
        verify_key text NOT NULL,
        valid_until_ts bigint,
        expired_ts bigint,
        fetched_ts bigint NOT NULL,
        key_json text NOT NULL,
        PRIMARY KEY (server_name, key_id),
        CHECK ((valid_until_ts IS NULL) <> (expired_ts IS NULL))
      )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE server_keys`);
  }
}

export const FEDERATION_RECEIVER_MIGRATIONS = [FederationReceiverServerKeys1765700000000] as const;
