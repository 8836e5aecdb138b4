import type { MigrationInterface, QueryRunner } from '@axon/platform-database';

/**
 * Schema `bus`: the in-process log. One row per message, addressed like Kafka's
 * (topic, partition, offset); offsets are allocated per partition from `partition_heads`
 * inside the publishing transaction, whose row lock makes concurrent publishers to one
 * partition commit in offset order (a consumer never sees offset n+1 before n).
 */
export class BusLog1732406400000 implements MigrationInterface {
  readonly name = 'BusLog1732406400000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE topics (
        name text PRIMARY KEY,
        partitions integer NOT NULL CHECK (partitions > 0),
        retention text NOT NULL
      )`);
    await queryRunner.query(`
      CREATE TABLE partition_heads (
        topic text NOT NULL,
        partition integer NOT NULL,
        next_offset bigint NOT NULL,
        PRIMARY KEY (topic, partition)
      )`);
    await queryRunner.query(`
      CREATE TABLE messages (
        topic text NOT NULL,
        partition integer NOT NULL,
        "offset" bigint NOT NULL,
        key text NOT NULL,
        value bytea NOT NULL,
        headers jsonb NOT NULL,
        published_at bigint NOT NULL,
        PRIMARY KEY (topic, partition, "offset")
      )`);
    await queryRunner.query(`
      CREATE TABLE committed_offsets (
        group_id text NOT NULL,
        topic text NOT NULL,
        partition integer NOT NULL,
        "offset" bigint NOT NULL,
        committed_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (group_id, topic, partition)
      )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE committed_offsets`);
    await queryRunner.query(`DROP TABLE messages`);
    await queryRunner.query(`DROP TABLE partition_heads`);
    await queryRunner.query(`DROP TABLE topics`);
  }
}

export const BUS_MIGRATIONS = [BusLog1732406400000] as const;
