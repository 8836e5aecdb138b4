import type { JsonObject, JsonValue } from '@axon/matrix-canonical-json';
import type { EventIdFormat, RoomIdFormat } from '@axon/matrix-identifiers';

/**
 * The PDU definitions of the spec, named as the spec names them (`pdu_v1`, `pdu_v3`, …):
 *
 * - `v1`: room versions 1 and 2 (`event_id` included; references are `[event_id, hashes]`);
 * - `v3`: room version 3 (no `event_id`; references are plain event IDs);
 * - `v4`: room versions 4 and 5 (URL-safe event IDs);
 * - `v6`: room versions 6 to 10 (`depth` limited to 2^53 - 1, canonical JSON enforced);
 * - `v11`: room version 11 (no top-level `redacts`);
 * - `v12`: room version 12 (hash room IDs; `m.room.create` has no `room_id`).
 *
 * Spec: https://spec.matrix.org/v1.19/rooms/v12/#event-format
 */
export type EventFormatName = 'v1' | 'v3' | 'v4' | 'v6' | 'v11' | 'v12';

/**
 * The event-format sub-rules of a room version, as plain data. The room-versions library
 * maps each room version to one of the `EVENT_FORMAT_*` constants; algorithms here take
 * the format, never a version string.
 *
 * Spec: https://spec.matrix.org/v1.19/rooms/v1/#event-format
 */
export interface EventFormat {
  /** Which spec PDU definition this is. */
  readonly name: EventFormatName;
  /** `event_id` is part of the PDU (room versions 1 and 2 only; dropped in v3). */
  readonly includesEventId: boolean;
  /** `auth_events` / `prev_events` are `[event_id, hashes]` pairs (v1) rather than event IDs (v3+). */
  readonly referencesWithHashes: boolean;
  /** The event ID format that references and `event_id` use (introduced: v1, v3, v4). */
  readonly eventIdFormat: EventIdFormat;
  /** The room ID form (`hash` introduced in room version 12). */
  readonly roomIdFormat: RoomIdFormat;
  /** Largest allowed `depth`: 2^63 - 1 before room version 6, 2^53 - 1 from v6. */
  readonly maxDepth: bigint;
  /** Integers are limited to the canonical JSON range and floats refused (room version 6). */
  readonly strictCanonicalJson: boolean;
  /** `m.room.redaction` carries a top-level `redacts` (until room version 11, which moved it into `content`). */
  readonly topLevelRedacts: boolean;
  /** `m.room.create` carries `room_id` (until room version 12, which omits it). */
  readonly createEventHasRoomId: boolean;
}

/**
 * `pdu_v1`, room versions 1 and 2.
 * Spec: https://spec.matrix.org/v1.19/rooms/v1/#event-format
 */
export const EVENT_FORMAT_V1: EventFormat = {
  name: 'v1',
  includesEventId: true,
  referencesWithHashes: true,
  eventIdFormat: 'v1',
  roomIdFormat: 'domain',
  maxDepth: 2n ** 63n - 1n,
  strictCanonicalJson: false,
  topLevelRedacts: true,
  createEventHasRoomId: true,
};

/**
 * `pdu_v3`, introduced in room version 3: no `event_id`, references are event IDs.
 * Spec: https://spec.matrix.org/v1.19/rooms/v3/#event-format
 */
export const EVENT_FORMAT_V3: EventFormat = {
  ...EVENT_FORMAT_V1,
  name: 'v3',
  includesEventId: false,
  referencesWithHashes: false,
  eventIdFormat: 'v3',
};

/**
 * `pdu_v4`, introduced in room version 4: URL-safe event IDs.
 * Spec: https://spec.matrix.org/v1.19/rooms/v4/#event-format
 */
export const EVENT_FORMAT_V4: EventFormat = { ...EVENT_FORMAT_V3, name: 'v4', eventIdFormat: 'v4' };

/**
 * `pdu_v6`, introduced in room version 6: `depth` at most 2^53 - 1, strict canonical JSON.
 * Spec: https://spec.matrix.org/v1.19/rooms/v6/#event-format
 */
export const EVENT_FORMAT_V6: EventFormat = {
  ...EVENT_FORMAT_V4,
  name: 'v6',
  maxDepth: 2n ** 53n - 1n,
  strictCanonicalJson: true,
};

/**
 * `pdu_v11`, introduced in room version 11: `redacts` moves into `content`.
 * Spec: https://spec.matrix.org/v1.19/rooms/v11/#event-format
 */
export const EVENT_FORMAT_V11: EventFormat = { ...EVENT_FORMAT_V6, name: 'v11', topLevelRedacts: false };

/**
 * `pdu_v12`, introduced in room version 12: hash room IDs, `m.room.create` without `room_id`.
 * Spec: https://spec.matrix.org/v1.19/rooms/v12/#event-format
 */
export const EVENT_FORMAT_V12: EventFormat = {
  ...EVENT_FORMAT_V11,
  name: 'v12',
  roomIdFormat: 'hash',
  createEventHasRoomId: false,
};

/**
 * The content hashes of a PDU (`{"sha256": …}`).
 * Spec: https://spec.matrix.org/v1.19/server-server-api/#signing-events
 */
export type EventHashes = { sha256: string } & JsonObject;

/**
 * A reference to another event in format `v1`: `[event_id, hashes]`.
 * Spec: https://spec.matrix.org/v1.19/rooms/v1/#event-format
 */
export type EventReferenceV1 = [string, EventHashes];

/**
 * Signatures: server name to key ID to unpadded base64 signature.
 * Spec: https://spec.matrix.org/v1.19/server-server-api/#signing-events
 */
export type EventSignatures = { [serverName: string]: { [keyId: string]: string } };

/**
 * The fields every PDU has before hashing and signing (`pdu_base` without `hashes`,
 * `signatures` and `unsigned`). Wire names stay as the spec spells them. Other keys are
 * allowed, as in the spec's schemas.
 *
 * Spec: https://spec.matrix.org/v1.19/server-server-api/#pdus
 */
export type UnsignedPduBase = JsonObject & {
  room_id?: string;
  sender: string;
  type: string;
  state_key?: string;
  content: JsonObject;
  depth: number | bigint;
  origin_server_ts: number | bigint;
  redacts?: string;
};

/**
 * An unsigned PDU in format `v1` (room versions 1 and 2). `event_id` is added with the
 * hashes and signatures by the signing library, so it is absent here.
 * Spec: https://spec.matrix.org/v1.19/rooms/v1/#event-format
 */
export type UnsignedPduV1 = UnsignedPduBase & {
  room_id: string;
  auth_events: EventReferenceV1[];
  prev_events: EventReferenceV1[];
};

/**
 * An unsigned PDU in formats `v3` and later (room version 3 onwards). In format `v12`,
 * `room_id` is absent from `m.room.create` only.
 * Spec: https://spec.matrix.org/v1.19/rooms/v3/#event-format
 */
export type UnsignedPduV3 = UnsignedPduBase & {
  auth_events: string[];
  prev_events: string[];
};

/**
 * An unsigned PDU of any format.
 * Spec: https://spec.matrix.org/v1.19/server-server-api/#pdus
 */
export type UnsignedPdu = UnsignedPduV1 | UnsignedPduV3;

/**
 * The fields a PDU gains when hashed and signed (`pdu_base`), with the optional `unsigned`
 * data that the signatures do not cover.
 * Spec: https://spec.matrix.org/v1.19/server-server-api/#pdus
 */
export type SignedPduFields = {
  hashes: EventHashes;
  signatures: EventSignatures;
  unsigned?: JsonObject;
};

/**
 * A complete PDU in format `v1` (room versions 1 and 2), with its `event_id`.
 * Spec: https://spec.matrix.org/v1.19/rooms/v1/#event-format
 */
export type PduV1 = UnsignedPduV1 & SignedPduFields & { event_id: string };

/**
 * A complete PDU in formats `v3` and later; the event ID is the reference hash and not
 * part of the PDU.
 * Spec: https://spec.matrix.org/v1.19/rooms/v3/#event-format
 */
export type PduV3 = UnsignedPduV3 & SignedPduFields;

/**
 * A complete PDU of any format.
 * Spec: https://spec.matrix.org/v1.19/server-server-api/#pdus
 */
export type Pdu = PduV1 | PduV3;

/**
 * Whether a JSON value is a JSON object (not an array, not null).
 * Spec: https://spec.matrix.org/v1.19/appendices/#canonical-json
 */
export function isJsonObject(value: JsonValue | undefined): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
