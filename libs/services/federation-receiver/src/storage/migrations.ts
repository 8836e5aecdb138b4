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

/**
 * `received_transactions`: the answer given to each transaction (`PUT /send/{txnId}`) per
 * origin, so a transaction sent again (its sender did not see the answer) gets the same
 * answer and changes nothing. Kept a day (`ReceivedTransactionsRepository`).
 */
export class FederationReceiverTransactions1765800000000 implements MigrationInterface {
  readonly name = 'FederationReceiverTransactions1765800000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE received_transactions (
        origin text NOT NULL,
        txn_id text NOT NULL,
        response text NOT NULL,
        received_ts bigint NOT NULL,
        PRIMARY KEY (origin, txn_id)
      )`);
    await queryRunner.query(`CREATE INDEX received_transactions_ts ON received_transactions (received_ts)`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE received_transactions`);
  }
}

export const FEDERATION_RECEIVER_MIGRATIONS = [FederationReceiverServerKeys1765700000000, FederationReceiverTransactions1765800000000] as const;
