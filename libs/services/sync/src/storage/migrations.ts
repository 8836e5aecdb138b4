import type { MigrationInterface, QueryRunner } from '@axon/platform-database';

/**
 * Schema `sync`: the sync service's own read model of the rooms, built from
 * `hs.room.output.v1`. Every row carries the bus position it came from (`partition`,
 * `offset`); `partition_heads` records, in the same transaction, how far each partition
 * has been applied. A sync token is a vector of those heads, so a sync that reads the
 * heads and then the rows at or below them never misses a row, however many consumers
 * write concurrently.
 */
export class SyncInitial1765100000000 implements MigrationInterface {
  readonly name = 'SyncInitial1765100000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE partition_heads (
        partition integer PRIMARY KEY,
        "offset" bigint NOT NULL
      )`);
    await queryRunner.query(`
      CREATE TABLE room_events (
        room_id text NOT NULL,
        room_seq integer NOT NULL,
        partition integer NOT NULL,
        "offset" bigint NOT NULL,
        event_id text NOT NULL,
        room_version text NOT NULL,
        stream_ordering bigint NOT NULL,
        type text NOT NULL,
        state_key text,
        sender text NOT NULL,
        pdu_json text NOT NULL,
        redacted_by text,
        PRIMARY KEY (room_id, room_seq)
      )`);
    await queryRunner.query(`CREATE UNIQUE INDEX room_events_event_id ON room_events (event_id)`);
    await queryRunner.query(`CREATE INDEX room_events_position ON room_events (room_id, partition, "offset")`);
    await queryRunner.query(`
      CREATE TABLE room_state (
        room_id text NOT NULL,
        type text NOT NULL,
        state_key text NOT NULL,
        event_id text NOT NULL,
        PRIMARY KEY (room_id, type, state_key)
      )`);
    await queryRunner.query(`
      CREATE TABLE membership_changes (
        user_id text NOT NULL,
        room_id text NOT NULL,
        membership text NOT NULL,
        event_id text NOT NULL,
        partition integer NOT NULL,
        "offset" bigint NOT NULL,
        PRIMARY KEY (user_id, room_id, partition, "offset")
      )`);
    await queryRunner.query(`
      CREATE TABLE memberships (
        user_id text NOT NULL,
        room_id text NOT NULL,
        membership text NOT NULL,
        PRIMARY KEY (user_id, room_id)
      )`);
    await queryRunner.query(`CREATE INDEX memberships_room ON memberships (room_id, membership)`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    for (const table of ['memberships', 'membership_changes', 'room_state', 'room_events', 'partition_heads']) await queryRunner.query(`DROP TABLE ${table}`);
  }
}

/**
 * Account data from `hs.account-data.v1`: the latest content per (user, room, type) with
 * the bus position it came from, and how far each partition of that topic is applied.
 */
export class SyncAccountData1765200000000 implements MigrationInterface {
  readonly name = 'SyncAccountData1765200000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE account_data (
        user_id text NOT NULL,
        room_id text NOT NULL,
        type text NOT NULL,
        content text NOT NULL,
        partition integer NOT NULL,
        "offset" bigint NOT NULL,
        PRIMARY KEY (user_id, room_id, type)
      )`);
    await queryRunner.query(`CREATE TABLE account_data_heads (partition integer PRIMARY KEY, "offset" bigint NOT NULL)`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE account_data_heads`);
    await queryRunner.query(`DROP TABLE account_data`);
  }
}

/**
 * One table of applied positions for every stream (topic, partition), replacing the two
 * per-topic ones, and the read model of the EDU streams: receipts, typing, presence,
 * to-device inboxes and the latest device-list change per user. Each row carries the bus
 * position it came from, so a sync answers exactly the changes between two tokens.
 */
export class SyncEdus1765300000000 implements MigrationInterface {
  readonly name = 'SyncEdus1765300000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE stream_heads (
        topic text NOT NULL,
        partition integer NOT NULL,
        "offset" bigint NOT NULL,
        PRIMARY KEY (topic, partition)
      )`);
    await queryRunner.query(`INSERT INTO stream_heads (topic, partition, "offset") SELECT 'hs.room.output.v1', partition, "offset" FROM partition_heads`);
    await queryRunner.query(`INSERT INTO stream_heads (topic, partition, "offset") SELECT 'hs.account-data.v1', partition, "offset" FROM account_data_heads`);
    await queryRunner.query(`DROP TABLE partition_heads`);
    await queryRunner.query(`DROP TABLE account_data_heads`);
    await queryRunner.query(`CREATE INDEX membership_changes_room ON membership_changes (room_id, partition, "offset")`);
    await queryRunner.query(`
      CREATE TABLE receipts (
        room_id text NOT NULL,
        receipt_type text NOT NULL,
        user_id text NOT NULL,
        thread_id text NOT NULL,
        event_id text NOT NULL,
        ts bigint NOT NULL,
        partition integer NOT NULL,
        "offset" bigint NOT NULL,
        PRIMARY KEY (room_id, receipt_type, user_id, thread_id)
      )`);
    await queryRunner.query(`
      CREATE TABLE typing (
        room_id text NOT NULL,
        user_id text NOT NULL,
        expires_at bigint NOT NULL,
        partition integer NOT NULL,
        "offset" bigint NOT NULL,
        PRIMARY KEY (room_id, user_id)
      )`);
    await queryRunner.query(`
      CREATE TABLE presence (
        user_id text PRIMARY KEY,
        presence text NOT NULL,
        status_msg text,
        last_active_ts bigint NOT NULL,
        currently_active boolean NOT NULL,
        partition integer NOT NULL,
        "offset" bigint NOT NULL
      )`);
    await queryRunner.query(`
      CREATE TABLE to_device (
        user_id text NOT NULL,
        device_id text NOT NULL,
        message_id text NOT NULL,
        sender text NOT NULL,
        type text NOT NULL,
        content text NOT NULL,
        partition integer NOT NULL,
        "offset" bigint NOT NULL,
        PRIMARY KEY (user_id, device_id, message_id)
      )`);
    await queryRunner.query(`CREATE INDEX to_device_inbox ON to_device (user_id, device_id, "offset")`);
    await queryRunner.query(`
      CREATE TABLE device_list_changes (
        user_id text PRIMARY KEY,
        partition integer NOT NULL,
        "offset" bigint NOT NULL
      )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    for (const table of ['device_list_changes', 'to_device', 'presence', 'typing', 'receipts']) await queryRunner.query(`DROP TABLE ${table}`);
    await queryRunner.query(`DROP INDEX membership_changes_room`);
    await queryRunner.query(`CREATE TABLE partition_heads (partition integer PRIMARY KEY, "offset" bigint NOT NULL)`);
    await queryRunner.query(`CREATE TABLE account_data_heads (partition integer PRIMARY KEY, "offset" bigint NOT NULL)`);
    await queryRunner.query(`INSERT INTO partition_heads SELECT partition, "offset" FROM stream_heads WHERE topic = 'hs.room.output.v1'`);
    await queryRunner.query(`INSERT INTO account_data_heads SELECT partition, "offset" FROM stream_heads WHERE topic = 'hs.account-data.v1'`);
    await queryRunner.query(`DROP TABLE stream_heads`);
  }
}

/**
 * Beside each applied offset of `hs.room.output.v1`, the highest room stream ordering
 * applied in that partition: sync tokens carry it so `/messages` can start from one
 * (`SyncToken.roomOrderings`). Filled from the events already applied.
 */
export class SyncRoomOrderings1765400000000 implements MigrationInterface {
  readonly name = 'SyncRoomOrderings1765400000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE stream_heads ADD COLUMN stream_ordering bigint NOT NULL DEFAULT -1`);
    await queryRunner.query(`
      UPDATE stream_heads h SET stream_ordering = COALESCE(
        (SELECT max(e.stream_ordering) FROM room_events e WHERE e.partition = h.partition AND e."offset" <= h."offset"), -1)
      WHERE h.topic = 'hs.room.output.v1'`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE stream_heads DROP COLUMN stream_ordering`);
  }
}

/**
 * `room_events.txn_device_id` / `txn_id`: the device a local client sent the event from
 * and its transaction ID (`hs.room.output.v1`'s `transaction`), NULL for events sent
 * without one and for those applied before this: only that device is shown it, as
 * `unsigned.transaction_id`. Nullable columns without a default: adding them rewrites no row.
 */
export class SyncEventTransactions1765500000000 implements MigrationInterface {
  readonly name = 'SyncEventTransactions1765500000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE room_events ADD COLUMN txn_device_id text, ADD COLUMN txn_id text`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE room_events DROP COLUMN txn_id, DROP COLUMN txn_device_id`);
  }
}

/**
 * `to_device.seq`: the order the read model received a device's messages in. The offset
 * orders a recipient's messages only while they are all in one partition of
 * `hs.todevice.v1`; once its partition count is raised, a recipient's later messages are in
 * another partition, applied after the earlier ones. Existing rows are numbered in their
 * inbox order.
 */
export class SyncToDeviceOrder1765600000000 implements MigrationInterface {
  readonly name = 'SyncToDeviceOrder1765600000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE to_device ADD COLUMN seq bigint`);
    await queryRunner.query(`UPDATE to_device t SET seq = n.seq FROM (SELECT ctid, row_number() OVER (ORDER BY "offset", message_id) AS seq FROM to_device) n WHERE t.ctid = n.ctid`);
    await queryRunner.query(`CREATE SEQUENCE to_device_seq OWNED BY to_device.seq`);
    await queryRunner.query(`SELECT setval('to_device_seq', COALESCE((SELECT max(seq) FROM to_device), 0) + 1, false)`);
    await queryRunner.query(`ALTER TABLE to_device ALTER COLUMN seq SET DEFAULT nextval('to_device_seq'), ALTER COLUMN seq SET NOT NULL`);
    await queryRunner.query(`DROP INDEX to_device_inbox`);
    await queryRunner.query(`CREATE INDEX to_device_inbox ON to_device (user_id, device_id, seq)`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX to_device_inbox`);
    await queryRunner.query(`ALTER TABLE to_device DROP COLUMN seq`);
    await queryRunner.query(`CREATE INDEX to_device_inbox ON to_device (user_id, device_id, "offset")`);
  }
}

/**
 * `state_events`: state events of a room that were never outputs of their own (the state a
 * join through another server brought, `RoomOutput.state_events`), with their PDUs, so
 * that the room's current state (`room_state`) can name them. They have no place in the
 * timeline.
 */
export class SyncStateEvents1765800000000 implements MigrationInterface {
  readonly name = 'SyncStateEvents1765800000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE state_events (
        event_id text PRIMARY KEY,
        room_id text NOT NULL,
        room_version text NOT NULL,
        type text NOT NULL,
        state_key text NOT NULL,
        sender text NOT NULL,
        pdu_json text NOT NULL
      )`);
    await queryRunner.query(`CREATE INDEX state_events_room ON state_events (room_id, type, state_key)`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE state_events`);
  }
}

export const SYNC_MIGRATIONS = [
  SyncInitial1765100000000,
  SyncAccountData1765200000000,
  SyncEdus1765300000000,
  SyncRoomOrderings1765400000000,
  SyncEventTransactions1765500000000,
  SyncToDeviceOrder1765600000000,
  SyncStateEvents1765800000000,
] as const;
