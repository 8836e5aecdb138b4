import type { EventId, RoomId } from '@axon/matrix-identifiers';
import type { DataSource, EntityManager } from '@axon/platform-database';

/** Where a repository query runs: the DataSource, or the manager of an open transaction. */
export type Queryable = Pick<DataSource | EntityManager, 'query'>;

/*
 * Identifiers read from the room server's own tables are branded as read, unchecked: the
 * `as` on a query's rows (here, and on each repository's own row shapes) is that cast.
 * Every room, event and user ID and alias in these tables was made by the writer or
 * parsed where a request brought it in (the writer's inputs, the query and directory
 * handlers), so parsing it again on every read would only cost. A member's state key is
 * stored as its event has it, and never read back as a user ID (`MembershipsRepository`).
 */

/** A room's row: its version, sequence (fencing), current state group and latest event. */
export interface RoomRow {
  readonly room_id: RoomId;
  readonly room_version: string;
  readonly head_seq: number;
  readonly state_group: string | null;
  readonly latest_nid: string;
}

/** An event as stored. `nid` is its stream position (decimal). */
export interface StoredEvent {
  readonly nid: string;
  readonly event_id: EventId;
  readonly room_id: RoomId;
  /** Its place in the room's timeline; null for an event outside it (`status`). */
  readonly room_seq: number | null;
  readonly type: string;
  readonly state_key: string | null;
  readonly depth: number;
  readonly pdu_json: string;
  readonly redacted_by: EventId | null;
  /** The sending device's transaction (`EventFields.transaction`), both NULL without one. */
  readonly txn_device_id: string | null;
  readonly txn_id: string | null;
  /** NULL for a timeline event; else `outlier`, `rejected` or `soft_failed` (`RemoteEvents` migration). */
  readonly status: EventStatus | null;
}

/** What an event outside the timeline is (`events.status`). */
export type EventStatus = 'outlier' | 'rejected' | 'soft_failed';

/** The outcome recorded for an input request. */
export interface InputResultRow {
  readonly request_id: string;
  readonly room_id: RoomId | null;
  readonly event_id: EventId | null;
  readonly errcode: string | null;
  readonly error: string | null;
}

/** Thrown when a room's head moved under a writer: it must re-read and rebuild. */
export class StaleRoomHeadError extends Error {
  constructor(roomId: RoomId) {
    super(`the head of ${roomId} moved: another writer appended first`);
    this.name = 'StaleRoomHeadError';
  }
}

/**
 * Thrown (rolling its transaction back) when a commit records the outcome of an input
 * whose outcome was recorded before: the input was handled already (redelivered after a
 * crash, or repeated), and its recorded outcome is the answer, not what was just built.
 */
export class RequestSeenError extends Error {
  constructor() {
    super('an input of the batch was handled before');
    this.name = 'RequestSeenError';
  }
}

/** The columns of a `StoredEvent`, from `events` (optionally aliased). */
export function eventColumns(alias?: string): string {
  const p = alias === undefined ? '' : `${alias}.`;
  return [
    `${p}nid::text AS nid`,
    `${p}event_id AS event_id`,
    `${p}room_id AS room_id`,
    `${p}room_seq AS room_seq`,
    `${p}type AS type`,
    `${p}state_key AS state_key`,
    `${p}depth::float8 AS depth`,
    `${p}pdu_json AS pdu_json`,
    `${p}redacted_by AS redacted_by`,
    `${p}txn_device_id AS txn_device_id`,
    `${p}txn_id AS txn_id`,
    `${p}status AS status`,
  ].join(', ');
}

export const EVENT_COLUMNS = eventColumns();
