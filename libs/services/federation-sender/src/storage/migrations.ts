import type { MigrationInterface, QueryRunner } from '@axon/platform-database';

/**
 * Schema `federation_sender`: what waits to be sent to each destination, and how sending
 * to it goes.
 *
 * - `queued_pdus`, `queued_edus`: one row per destination and PDU (unique by event ID) or
 *   EDU. `position` comes from one sequence shared by both tables, so a transaction's
 *   rows are named by their positions (its transaction ID is derived from them). An EDU
 *   with a `dedupe_key` is kept once per destination and key: a newer one (a typing
 *   change, presence) takes the older one's place, and a to-device message's key (its
 *   message ID) makes a redelivered message enqueue nothing.
 * - `destinations`: per destination, its delivery shard (`destinationShard`), the failures
 *   in a row and when it may be tried again (ms since the epoch; 0: now).
 * - `shard_leases`: which sender replica delivers to a shard's destinations, until when.
 */
export class FederationSenderInitial1767000000000 implements MigrationInterface {
  readonly name = 'FederationSenderInitial1767000000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`CREATE SEQUENCE queue_position`);
    await queryRunner.query(`
      CREATE TABLE queued_pdus (
        position bigint PRIMARY KEY DEFAULT nextval('queue_position'),
        destination text NOT NULL,
        room_id text NOT NULL,
        event_id text NOT NULL,
        pdu_json text NOT NULL,
        UNIQUE (destination, event_id)
      )`);
    await queryRunner.query(`CREATE INDEX queued_pdus_destination ON queued_pdus (destination, position)`);
    await queryRunner.query(`CREATE INDEX queued_pdus_room ON queued_pdus (destination, room_id, position)`);
    await queryRunner.query(`
      CREATE TABLE queued_edus (
        position bigint PRIMARY KEY DEFAULT nextval('queue_position'),
        destination text NOT NULL,
        edu_type text NOT NULL,
        edu_json text NOT NULL,
        dedupe_key text,
        UNIQUE (destination, dedupe_key)
      )`);
    await queryRunner.query(`CREATE INDEX queued_edus_destination ON queued_edus (destination, position)`);
    await queryRunner.query(`
      CREATE TABLE destinations (
        destination text PRIMARY KEY,
        shard integer NOT NULL,
        failures integer NOT NULL DEFAULT 0,
        retry_at bigint NOT NULL DEFAULT 0
      )`);
    await queryRunner.query(`CREATE INDEX destinations_shard ON destinations (shard, retry_at)`);
    await queryRunner.query(`
      CREATE TABLE shard_leases (
        shard integer PRIMARY KEY,
        holder text NOT NULL,
        expires_at bigint NOT NULL
      )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    for (const table of ['shard_leases', 'destinations', 'queued_edus', 'queued_pdus']) await queryRunner.query(`DROP TABLE ${table}`);
    await queryRunner.query(`DROP SEQUENCE queue_position`);
  }
}

export const FEDERATION_SENDER_MIGRATIONS = [FederationSenderInitial1767000000000] as const;
