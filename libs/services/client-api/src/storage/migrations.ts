import type { MigrationInterface, QueryRunner } from '@axon/platform-database';

/**
 * Schema `client_api`: accounts, devices and their tokens, filters. Tokens are stored only
 * as SHA-256 hashes; deleting a device cascades to its tokens, so a deleted device's token
 * stops resolving in the same transaction.
 */
export class ClientApiAccounts1764000000000 implements MigrationInterface {
  readonly name = 'ClientApiAccounts1764000000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE users (
        user_id text PRIMARY KEY,
        password_hash text,
        is_guest boolean NOT NULL DEFAULT false,
        is_admin boolean NOT NULL DEFAULT false,
        deactivated boolean NOT NULL DEFAULT false,
        profile jsonb NOT NULL DEFAULT '{}'::jsonb,
        created_ts bigint NOT NULL
      )`);
    await queryRunner.query(`
      CREATE TABLE devices (
        user_id text NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
        device_id text NOT NULL,
        display_name text,
        last_seen_ts bigint,
        last_seen_ip text,
        created_ts bigint NOT NULL,
        PRIMARY KEY (user_id, device_id)
      )`);
    await queryRunner.query(`
      CREATE TABLE access_tokens (
        token_hash text PRIMARY KEY,
        user_id text NOT NULL,
        device_id text NOT NULL,
        expires_ts bigint,
        -- The refresh token issued with this access token, and whether its first use must
        -- still revoke the refresh token it replaced (spec: POST /refresh).
        refresh_token_hash text,
        revokes_predecessor boolean NOT NULL DEFAULT false,
        created_ts bigint NOT NULL,
        FOREIGN KEY (user_id, device_id) REFERENCES devices (user_id, device_id) ON DELETE CASCADE
      )`);
    await queryRunner.query(`CREATE INDEX access_tokens_refresh ON access_tokens (refresh_token_hash)`);
    await queryRunner.query(`CREATE INDEX access_tokens_device ON access_tokens (user_id, device_id)`);
    await queryRunner.query(`
      CREATE TABLE refresh_tokens (
        token_hash text PRIMARY KEY,
        user_id text NOT NULL,
        device_id text NOT NULL,
        -- The refresh token that replaced this one; this one stays valid until that one
        -- or its access token is used.
        superseded_by text,
        created_ts bigint NOT NULL,
        FOREIGN KEY (user_id, device_id) REFERENCES devices (user_id, device_id) ON DELETE CASCADE
      )`);
    await queryRunner.query(`CREATE INDEX refresh_tokens_superseded_by ON refresh_tokens (superseded_by)`);
    await queryRunner.query(`CREATE INDEX refresh_tokens_device ON refresh_tokens (user_id, device_id)`);
    await queryRunner.query(`
      CREATE TABLE login_tokens (
        token_hash text PRIMARY KEY,
        user_id text NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
        expires_ts bigint NOT NULL
      )`);
    await queryRunner.query(`
      CREATE TABLE registration_token_uses (
        token text PRIMARY KEY,
        completed integer NOT NULL
      )`);
    await queryRunner.query(`
      CREATE TABLE filters (
        filter_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        user_id text NOT NULL,
        filter jsonb NOT NULL
      )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    for (const table of ['filters', 'registration_token_uses', 'login_tokens', 'refresh_tokens', 'access_tokens', 'devices', 'users']) {
      await queryRunner.query(`DROP TABLE ${table}`);
    }
  }
}

/**
 * What the client API remembers about rooms on a user's behalf: the rooms they forgot (as
 * of the membership event they forgot at, so rejoining un-forgets), and the transaction
 * IDs their devices sent events with (`unsigned.transaction_id`).
 */
export class ClientApiRooms1765000000000 implements MigrationInterface {
  readonly name = 'ClientApiRooms1765000000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE forgotten_rooms (
        user_id text NOT NULL,
        room_id text NOT NULL,
        membership_event_id text NOT NULL,
        PRIMARY KEY (user_id, room_id)
      )`);
    await queryRunner.query(`
      CREATE TABLE sent_transactions (
        user_id text NOT NULL,
        device_id text NOT NULL,
        event_id text NOT NULL,
        txn_id text NOT NULL,
        PRIMARY KEY (user_id, device_id, event_id)
      )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE sent_transactions`);
    await queryRunner.query(`DROP TABLE forgotten_rooms`);
  }
}

/** Users' account data, global (`room_id` empty) and per room (tags are the room's `m.tag`). */
export class ClientApiAccountData1765200000000 implements MigrationInterface {
  readonly name = 'ClientApiAccountData1765200000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE account_data (
        user_id text NOT NULL,
        room_id text NOT NULL,
        type text NOT NULL,
        content jsonb NOT NULL,
        PRIMARY KEY (user_id, room_id, type)
      )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE account_data`);
  }
}

/** `sendToDevice` transaction IDs already handled, per device (a day's worth). */
export class ClientApiToDeviceTxns1765300000000 implements MigrationInterface {
  readonly name = 'ClientApiToDeviceTxns1765300000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE to_device_txns (
        user_id text NOT NULL,
        device_id text NOT NULL,
        event_type text NOT NULL,
        txn_id text NOT NULL,
        created_ts bigint NOT NULL,
        PRIMARY KEY (user_id, device_id, event_type, txn_id)
      )`);
    await queryRunner.query(`CREATE INDEX to_device_txns_created ON to_device_txns (created_ts)`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE to_device_txns`);
  }
}

/**
 * Each user's server-notices room: the one room the notices user sends them notices in,
 * reused (the user is invited again) after they leave it.
 */
export class ClientApiServerNotices1765400000000 implements MigrationInterface {
  readonly name = 'ClientApiServerNotices1765400000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE server_notice_rooms (
        user_id text PRIMARY KEY,
        room_id text NOT NULL,
        created_ts bigint NOT NULL
      )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE server_notice_rooms`);
  }
}

/**
 * Account data content as `json`, not `jsonb`: content is kept as the client sent it, and
 * JSON strings may hold U+0000, which `jsonb` (like `text`) cannot store. `json` keeps
 * the text and only checks its syntax; nothing queries inside the content.
 */
export class ClientApiAccountDataJson1766000000000 implements MigrationInterface {
  readonly name = 'ClientApiAccountDataJson1766000000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE account_data ALTER COLUMN content TYPE json USING content::json`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE account_data ALTER COLUMN content TYPE jsonb USING content::jsonb`);
  }
}

/**
 * OpenID tokens (`POST /user/{userId}/openid/request_token`), stored as SHA-256 hashes
 * like access tokens, each with its expiry; the federation API's `/openid/userinfo`
 * reads them through `Accounts.ResolveOpenIdToken`.
 */
export class ClientApiOpenIdTokens1767000000000 implements MigrationInterface {
  readonly name = 'ClientApiOpenIdTokens1767000000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE openid_tokens (
        token_hash text PRIMARY KEY,
        user_id text NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
        expires_ts bigint NOT NULL
      )`);
    await queryRunner.query(`CREATE INDEX openid_tokens_expires ON openid_tokens (expires_ts)`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE openid_tokens`);
  }
}

/**
 * Reports users filed against events, rooms and users (`/rooms/{roomId}/report/{eventId}`,
 * `/rooms/{roomId}/report`, `/users/{userId}/report`), kept for the server's admins.
 */
export class ClientApiReports1767100000000 implements MigrationInterface {
  readonly name = 'ClientApiReports1767100000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE event_reports (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        received_ts bigint NOT NULL,
        room_id text NOT NULL,
        event_id text NOT NULL,
        user_id text NOT NULL,
        reason text,
        -- The request body as sent (Synapse keeps it: clients add fields such as score).
        content json NOT NULL
      )`);
    await queryRunner.query(`
      CREATE TABLE room_reports (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        received_ts bigint NOT NULL,
        room_id text NOT NULL,
        user_id text NOT NULL,
        reason text NOT NULL
      )`);
    await queryRunner.query(`
      CREATE TABLE user_reports (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        received_ts bigint NOT NULL,
        target_user_id text NOT NULL,
        user_id text NOT NULL,
        reason text NOT NULL
      )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    for (const table of ['user_reports', 'room_reports', 'event_reports']) await queryRunner.query(`DROP TABLE ${table}`);
  }
}

/**
 * The user directory's read model, built from `hs.room.output.v1`: which rooms are public
 * (join rule `public` or history `world_readable`, as the spec's search scope and
 * Synapse's `is_room_world_readable_or_publicly_joinable` say) and who is joined to each
 * room, with the display name and avatar of their member event (what a remote user is
 * known by). `last_seq` is the room sequence of the last output applied to the room,
 * so a redelivered output changes nothing.
 */
export class ClientApiUserDirectory1767200000000 implements MigrationInterface {
  readonly name = 'ClientApiUserDirectory1767200000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE user_directory_rooms (
        room_id text PRIMARY KEY,
        is_public boolean NOT NULL DEFAULT false,
        join_rule text,
        history_visibility text,
        last_seq integer NOT NULL
      )`);
    await queryRunner.query(`
      CREATE TABLE user_directory_members (
        room_id text NOT NULL,
        user_id text NOT NULL,
        display_name text,
        avatar_url text,
        PRIMARY KEY (room_id, user_id)
      )`);
    await queryRunner.query(`CREATE INDEX user_directory_members_user ON user_directory_members (user_id)`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE user_directory_members`);
    await queryRunner.query(`DROP TABLE user_directory_rooms`);
  }
}

/**
 * Drops `sent_transactions`: the room server keeps each event's sending device and
 * transaction ID beside it (`RoomQuery`'s `RoomEvent.transaction`), written by the append
 * that stores the event instead of a statement of its own per send. The IDs recorded here
 * are not carried over (they are in another service's schema): events sent before the
 * upgrade lose their `unsigned.transaction_id`, which a client needs only to match the
 * remote echo of a send it has just made. `down` brings the table back empty.
 */
export class ClientApiDropSentTransactions1767300000000 implements MigrationInterface {
  readonly name = 'ClientApiDropSentTransactions1767300000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE sent_transactions`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE sent_transactions (
        user_id text NOT NULL,
        device_id text NOT NULL,
        event_id text NOT NULL,
        txn_id text NOT NULL,
        PRIMARY KEY (user_id, device_id, event_id)
      )`);
  }
}

export const CLIENT_API_MIGRATIONS = [
  ClientApiAccounts1764000000000,
  ClientApiRooms1765000000000,
  ClientApiAccountData1765200000000,
  ClientApiToDeviceTxns1765300000000,
  ClientApiServerNotices1765400000000,
  ClientApiAccountDataJson1766000000000,
  ClientApiOpenIdTokens1767000000000,
  ClientApiReports1767100000000,
  ClientApiUserDirectory1767200000000,
  ClientApiDropSentTransactions1767300000000,
] as const;
