import type { MigrationInterface, QueryRunner } from '@axon/platform-database';
import type { RoomId } from '@axon/matrix-identifiers';
import { outboxShard } from '../output/outbox-shard';

/**
 * Schema `room_server`: the rooms this server takes part in, written only by the room
 * server.
 *
 * - `events`: every event once, its PDU JSON exactly as signed; `nid` is the server's
 *   stream position (global, increasing in commit order per room because each room has
 *   one writer).
 * - `state_groups` / `state_group_entries`: room states stored as deltas. A group is its
 *   parent's state with its entries applied (`event_nid` NULL removes a key); every
 *   `STATE_GROUP_MAX_DEPTH` levels a full snapshot starts a new chain, bounding reads.
 *   Each event records the group of the state before and after it.
 * - `current_state`: the latest state of each room, materialised for cheap reads.
 * - `rooms.head_seq`: the room's sequence, advanced with compare-and-set by every append
 *   (fencing: a stale writer's append fails instead of forking the room). The same
 *   update replaces `rooms.forward_extremities` (since `ForwardExtremitiesOnRooms`).
 * - `outbox`: output messages written in the appending transaction, published to
 *   `hs.room.output.v1` by the relay and then deleted.
 * - `input_results`: the outcome of each input request ID (idempotency and replies).
 */
export class RoomServerInitial1764000000000 implements MigrationInterface {
  readonly name = 'RoomServerInitial1764000000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE rooms (
        room_id text PRIMARY KEY,
        room_version text NOT NULL,
        head_seq integer NOT NULL,
        state_group bigint,
        latest_nid bigint NOT NULL
      )`);
    await queryRunner.query(`
      CREATE TABLE events (
        nid bigserial PRIMARY KEY,
        event_id text NOT NULL UNIQUE,
        room_id text NOT NULL,
        room_seq integer NOT NULL,
        type text NOT NULL,
        state_key text,
        sender text NOT NULL,
        depth bigint NOT NULL,
        origin_server_ts bigint NOT NULL,
        pdu_json text NOT NULL,
        state_group_before bigint,
        state_group_after bigint,
        redacted_by text,
        UNIQUE (room_id, room_seq)
      )`);
    await queryRunner.query(`CREATE INDEX events_room_nid ON events (room_id, nid)`);
    await queryRunner.query(`
      CREATE TABLE event_auth (
        event_nid bigint NOT NULL,
        auth_nid bigint NOT NULL,
        PRIMARY KEY (event_nid, auth_nid)
      )`);
    await queryRunner.query(`
      CREATE TABLE state_groups (
        id bigserial PRIMARY KEY,
        room_id text NOT NULL,
        parent_id bigint,
        depth integer NOT NULL
      )`);
    await queryRunner.query(`
      CREATE TABLE state_group_entries (
        group_id bigint NOT NULL,
        type text NOT NULL,
        state_key text NOT NULL,
        event_nid bigint,
        PRIMARY KEY (group_id, type, state_key)
      )`);
    await queryRunner.query(`
      CREATE TABLE current_state (
        room_id text NOT NULL,
        type text NOT NULL,
        state_key text NOT NULL,
        event_nid bigint NOT NULL,
        PRIMARY KEY (room_id, type, state_key)
      )`);
    await queryRunner.query(`
      CREATE TABLE memberships (
        room_id text NOT NULL,
        user_id text NOT NULL,
        membership text NOT NULL,
        event_nid bigint NOT NULL,
        PRIMARY KEY (room_id, user_id)
      )`);
    await queryRunner.query(`CREATE INDEX memberships_user ON memberships (user_id, membership)`);
    await queryRunner.query(`
      CREATE TABLE forward_extremities (
        room_id text NOT NULL,
        event_id text NOT NULL,
        PRIMARY KEY (room_id, event_id)
      )`);
    await queryRunner.query(`
      CREATE TABLE outbox (
        id bigserial PRIMARY KEY,
        room_id text NOT NULL,
        payload text NOT NULL
      )`);
    await queryRunner.query(`
      CREATE TABLE input_results (
        request_id text PRIMARY KEY,
        room_id text,
        event_id text,
        errcode text,
        error text,
        created_at bigint NOT NULL
      )`);
    await queryRunner.query(`
      CREATE TABLE relay_lease (
        id integer PRIMARY KEY,
        holder text NOT NULL,
        expires_at bigint NOT NULL
      )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    for (const table of ['relay_lease', 'input_results', 'outbox', 'forward_extremities', 'memberships', 'current_state', 'state_group_entries', 'state_groups', 'event_auth', 'events', 'rooms']) {
      await queryRunner.query(`DROP TABLE ${table}`);
    }
  }
}

/**
 * Room aliases of this server (`#local:our.server` → room) and the rooms published in the
 * directory.
 */
export class RoomDirectory1764100000000 implements MigrationInterface {
  readonly name = 'RoomDirectory1764100000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE room_aliases (
        alias text PRIMARY KEY,
        room_id text NOT NULL,
        creator text NOT NULL,
        created_at bigint NOT NULL
      )`);
    await queryRunner.query(`CREATE INDEX room_aliases_room ON room_aliases (room_id)`);
    await queryRunner.query(`CREATE TABLE published_rooms (room_id text PRIMARY KEY)`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE published_rooms`);
    await queryRunner.query(`DROP TABLE room_aliases`);
  }
}

/**
 * `outbox.trace_context`: the trace context (W3C `traceparent`/`tracestate`, as JSON) of
 * the input whose transaction wrote the row, so the relay publishes each output in the
 * trace of the request that caused it. NULL for rows written without one.
 */
export class OutboxTraceContext1764200000000 implements MigrationInterface {
  readonly name = 'OutboxTraceContext1764200000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE outbox ADD COLUMN trace_context text`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE outbox DROP COLUMN trace_context`);
  }
}

/**
 * `outbox.shard` (`outboxShard(room_id)`): relay leases are per shard (`relay_lease.id`),
 * so a dead relay holds up only its own shards' rows instead of every room's. Rows
 * waiting at the upgrade get their room's shard; the old single lease is dropped.
 */
export class OutboxShards1764300000000 implements MigrationInterface {
  readonly name = 'OutboxShards1764300000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE outbox ADD COLUMN shard integer`);
    const rooms = (await queryRunner.query(`SELECT DISTINCT room_id FROM outbox`)) as Array<{ room_id: RoomId }>;
    for (const { room_id } of rooms) await queryRunner.query(`UPDATE outbox SET shard = $1 WHERE room_id = $2`, [outboxShard(room_id), room_id]);
    await queryRunner.query(`ALTER TABLE outbox ALTER COLUMN shard SET NOT NULL`);
    await queryRunner.query(`CREATE INDEX outbox_shard ON outbox (shard, id)`);
    await queryRunner.query(`DELETE FROM relay_lease`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX outbox_shard`);
    await queryRunner.query(`ALTER TABLE outbox DROP COLUMN shard`);
    await queryRunner.query(`DELETE FROM relay_lease`);
  }
}

/**
 * `rooms.forward_extremities`: the room's forward extremities as one array on its row,
 * replaced by the same fenced `UPDATE rooms` that advances `head_seq`. The table it
 * replaces took a DELETE and an INSERT per event, and on a busy room every lookup walked
 * the dead index entries those left until a vacuum (thousands per event on Postgres
 * within a minute). The `rooms` update changes no indexed column, so it stays a HOT
 * update and adds no index entries.
 */
export class ForwardExtremitiesOnRooms1764400000000 implements MigrationInterface {
  readonly name = 'ForwardExtremitiesOnRooms1764400000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE rooms ADD COLUMN forward_extremities text[] NOT NULL DEFAULT '{}'`);
    await queryRunner.query(`
      UPDATE rooms r SET forward_extremities = f.event_ids
      FROM (SELECT room_id, array_agg(event_id ORDER BY event_id) AS event_ids FROM forward_extremities GROUP BY room_id) f
      WHERE f.room_id = r.room_id`);
    await queryRunner.query(`DROP TABLE forward_extremities`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE forward_extremities (
        room_id text NOT NULL,
        event_id text NOT NULL,
        PRIMARY KEY (room_id, event_id)
      )`);
    await queryRunner.query(`INSERT INTO forward_extremities (room_id, event_id) SELECT room_id, unnest(forward_extremities) FROM rooms`);
    await queryRunner.query(`ALTER TABLE rooms DROP COLUMN forward_extremities`);
  }
}

/**
 * `events.txn_device_id` / `events.txn_id`: the device a local client sent the event from
 * and its transaction ID (`SentTransaction`), NULL for events sent without one. Kept beside
 * the PDU, never in it; `RoomQuery` returns them for `unsigned.transaction_id`. Nullable
 * columns without a default: adding them rewrites no row.
 */
export class EventTransactions1764500000000 implements MigrationInterface {
  readonly name = 'EventTransactions1764500000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE events ADD COLUMN txn_device_id text, ADD COLUMN txn_id text`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE events DROP COLUMN txn_id, DROP COLUMN txn_device_id`);
  }
}

/**
 * Events received over federation that are not (or not yet) part of the room's timeline:
 * - `events.status`: NULL for an event of the timeline (it has a `room_seq` and went to
 *   `hs.room.output`); `outlier` for an event known without its place in the room (an
 *   auth event or a state event fetched to check another); `rejected` for one that failed
 *   the auth rules (kept, so it is never fetched or accepted again, and so state
 *   resolution knows it was rejected); `soft_failed` for one that passed against the
 *   state before it but not the current state (in the DAG, never served to clients).
 * - `events.rejection`: why a rejected event was rejected.
 * - `events.room_seq` becomes nullable: only timeline events have one.
 * Adding nullable columns without defaults rewrites no row.
 */
export class RemoteEvents1765700000000 implements MigrationInterface {
  readonly name = 'RemoteEvents1765700000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE events ADD COLUMN status text, ADD COLUMN rejection text`);
    await queryRunner.query(`ALTER TABLE events ALTER COLUMN room_seq DROP NOT NULL`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DELETE FROM events WHERE room_seq IS NULL`);
    await queryRunner.query(`ALTER TABLE events ALTER COLUMN room_seq SET NOT NULL`);
    await queryRunner.query(`ALTER TABLE events DROP COLUMN rejection, DROP COLUMN status`);
  }
}

export const ROOM_SERVER_MIGRATIONS = [
  RoomServerInitial1764000000000,
  RoomDirectory1764100000000,
  OutboxTraceContext1764200000000,
  OutboxShards1764300000000,
  ForwardExtremitiesOnRooms1764400000000,
  EventTransactions1764500000000,
  RemoteEvents1765700000000,
] as const;
