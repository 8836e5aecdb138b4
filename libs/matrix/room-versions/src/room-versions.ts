import type { CanonicalJsonMode } from '@axon/matrix-canonical-json';
import { err, MatrixError, ok, type Result } from '@axon/matrix-errors';
import {
  AUTHORIZATION_V1,
  AUTHORIZATION_V10,
  AUTHORIZATION_V11,
  AUTHORIZATION_V12,
  AUTHORIZATION_V3,
  AUTHORIZATION_V6,
  AUTHORIZATION_V7,
  AUTHORIZATION_V8,
  type AuthorizationRules,
} from '@axon/matrix-event-auth';
import {
  EVENT_FORMAT_V1,
  EVENT_FORMAT_V11,
  EVENT_FORMAT_V12,
  EVENT_FORMAT_V3,
  EVENT_FORMAT_V4,
  EVENT_FORMAT_V6,
  REDACTION_V1,
  REDACTION_V11,
  REDACTION_V6,
  REDACTION_V8,
  REDACTION_V9,
  type EventFormat,
  type RedactionRules,
} from '@axon/matrix-events';
import { SIGNATURES_V1, SIGNATURES_V3, SIGNATURES_V5, SIGNATURES_V8, type SignatureRules } from '@axon/matrix-signing';
import { STATE_RES_V1, STATE_RES_V2, STATE_RES_V2_1, type StateResolutionRules } from '@axon/matrix-state-res';

/**
 * Everything a room version decides, as plain data made of the sub-rules each algorithm
 * takes: `redactEvent(pdu, rules.redaction)`, `checkEventAuth(…, rules.authorization, …)`,
 * `resolveState(…, rules.stateResolution …)`. Each version is a delta of the one before;
 * each sub-rule's flags say which version introduced them. Code outside this library
 * never compares version strings: it asks the registry for the rules.
 *
 * Spec: https://spec.matrix.org/v1.19/rooms/
 */
export interface RoomVersionRules {
  /** The room version identifier (`"1"` … `"12"`). */
  readonly id: string;
  /** Stable room versions may be used by rooms safely; every version 1 to 12 is stable. */
  readonly stability: 'stable' | 'unstable';
  /** PDU format, event and room ID formats, `depth` limit, canonical JSON strictness. */
  readonly eventFormat: EventFormat;
  /** Which keys survive redaction. */
  readonly redaction: RedactionRules;
  /** Which servers must sign, and key validity. */
  readonly signatures: SignatureRules;
  /** The authorization rules. */
  readonly authorization: AuthorizationRules;
  /** The state resolution algorithm. */
  readonly stateResolution: StateResolutionRules;
}

/** Room version 1. Spec: https://spec.matrix.org/v1.19/rooms/v1/ */
export const ROOM_V1: RoomVersionRules = {
  id: '1',
  stability: 'stable',
  eventFormat: EVENT_FORMAT_V1,
  redaction: REDACTION_V1,
  signatures: SIGNATURES_V1,
  authorization: AUTHORIZATION_V1,
  stateResolution: STATE_RES_V1,
};

/** Room version 2: state resolution v2. Spec: https://spec.matrix.org/v1.19/rooms/v2/ */
export const ROOM_V2: RoomVersionRules = { ...ROOM_V1, id: '2', stateResolution: STATE_RES_V2 };

/**
 * Room version 3: event IDs are reference hashes, so no `event_id` in the PDU, no
 * signature from the event ID's server and no redaction auth rule.
 * Spec: https://spec.matrix.org/v1.19/rooms/v3/
 */
export const ROOM_V3: RoomVersionRules = { ...ROOM_V2, id: '3', eventFormat: EVENT_FORMAT_V3, signatures: SIGNATURES_V3, authorization: AUTHORIZATION_V3 };

/** Room version 4: URL-safe event IDs. Spec: https://spec.matrix.org/v1.19/rooms/v4/ */
export const ROOM_V4: RoomVersionRules = { ...ROOM_V3, id: '4', eventFormat: EVENT_FORMAT_V4 };

/** Room version 5: signing key validity enforced. Spec: https://spec.matrix.org/v1.19/rooms/v5/ */
export const ROOM_V5: RoomVersionRules = { ...ROOM_V4, id: '5', signatures: SIGNATURES_V5 };

/**
 * Room version 6: strict canonical JSON, no `m.room.aliases` special cases (auth and
 * redaction), `notifications` power levels checked.
 * Spec: https://spec.matrix.org/v1.19/rooms/v6/
 */
export const ROOM_V6: RoomVersionRules = { ...ROOM_V5, id: '6', eventFormat: EVENT_FORMAT_V6, redaction: REDACTION_V6, authorization: AUTHORIZATION_V6 };

/** Room version 7: knocking. Spec: https://spec.matrix.org/v1.19/rooms/v7/ */
export const ROOM_V7: RoomVersionRules = { ...ROOM_V6, id: '7', authorization: AUTHORIZATION_V7 };

/**
 * Room version 8: restricted join rules (auth, the authorising server's signature, and
 * `allow` kept by redaction).
 * Spec: https://spec.matrix.org/v1.19/rooms/v8/
 */
export const ROOM_V8: RoomVersionRules = { ...ROOM_V7, id: '8', redaction: REDACTION_V8, signatures: SIGNATURES_V8, authorization: AUTHORIZATION_V8 };

/**
 * Room version 9: redaction keeps `join_authorised_via_users_server`.
 * Spec: https://spec.matrix.org/v1.19/rooms/v9/
 */
export const ROOM_V9: RoomVersionRules = { ...ROOM_V8, id: '9', redaction: REDACTION_V9 };

/**
 * Room version 10: `knock_restricted`, integer-only power levels.
 * Spec: https://spec.matrix.org/v1.19/rooms/v10/
 */
export const ROOM_V10: RoomVersionRules = { ...ROOM_V9, id: '10', authorization: AUTHORIZATION_V10 };

/**
 * Room version 11: the creator is the create event's `sender`; `redacts` moves into
 * `content`; the redaction algorithm is clarified.
 * Spec: https://spec.matrix.org/v1.19/rooms/v11/
 */
export const ROOM_V11: RoomVersionRules = { ...ROOM_V10, id: '11', eventFormat: EVENT_FORMAT_V11, redaction: REDACTION_V11, authorization: AUTHORIZATION_V11 };

/**
 * Room version 12: room IDs are the create event's hash, creators have infinite power,
 * state resolution v2.1.
 * Spec: https://spec.matrix.org/v1.19/rooms/v12/
 */
export const ROOM_V12: RoomVersionRules = {
  ...ROOM_V11,
  id: '12',
  eventFormat: EVENT_FORMAT_V12,
  authorization: AUTHORIZATION_V12,
  stateResolution: STATE_RES_V2_1,
};

/** Every room version this server knows, oldest first. Spec: https://spec.matrix.org/v1.19/rooms/#complete-list-of-room-versions */
export const ROOM_VERSIONS: readonly RoomVersionRules[] = [
  ROOM_V1,
  ROOM_V2,
  ROOM_V3,
  ROOM_V4,
  ROOM_V5,
  ROOM_V6,
  ROOM_V7,
  ROOM_V8,
  ROOM_V9,
  ROOM_V10,
  ROOM_V11,
  ROOM_V12,
];

function deepFreeze(value: object): void {
  for (const child of Object.values(value)) {
    if (typeof child === 'object' && child !== null && !Object.isFrozen(child)) deepFreeze(child as object);
  }
  Object.freeze(value);
}

// Room versions are immutable once specified: freeze the rules and every sub-rule they
// share, so no caller can change a version's behaviour at run time.
deepFreeze(ROOM_VERSIONS);

const BY_ID: ReadonlyMap<string, RoomVersionRules> = new Map(ROOM_VERSIONS.map((rules) => [rules.id, rules]));

/**
 * The room version new rooms get unless configured or asked otherwise: "Servers SHOULD
 * use room version 12 as the default room version when creating new rooms."
 * Spec: https://spec.matrix.org/v1.19/rooms/#complete-list-of-room-versions
 */
export const DEFAULT_ROOM_VERSION = '12';

/**
 * The rules of a room version, or `M_UNSUPPORTED_ROOM_VERSION` (HTTP 400) when this
 * server does not know it.
 * Spec: https://spec.matrix.org/v1.19/client-server-api/#post_matrixclientv3createroom
 */
export function getRoomVersionRules(id: string): Result<RoomVersionRules, MatrixError> {
  const rules = BY_ID.get(id);
  return rules === undefined ? err(new MatrixError('M_UNSUPPORTED_ROOM_VERSION', `room version ${JSON.stringify(id)} is not supported`, 400)) : ok(rules);
}

/**
 * Whether this server knows a room version (the authorization rules' "recognised
 * version" for `m.room.create`).
 * Spec: https://spec.matrix.org/v1.19/rooms/v12/#authorization-rules
 */
export function isKnownRoomVersion(id: string): boolean {
  return BY_ID.has(id);
}

/**
 * The canonical JSON mode of a room version's events: `strict` from room version 6.
 * Spec: https://spec.matrix.org/v1.19/rooms/v6/#canonical-json
 */
export function getCanonicalJsonMode(rules: RoomVersionRules): CanonicalJsonMode {
  return rules.eventFormat.strictCanonicalJson ? 'strict' : 'lenient';
}

/**
 * The `m.room_versions` capability: the default version and every known one with its
 * stability.
 * Spec: https://spec.matrix.org/v1.19/client-server-api/#mroom_versions-capability
 */
export function getRoomVersionsCapability(defaultVersion: string = DEFAULT_ROOM_VERSION): {
  default: string;
  available: Record<string, 'stable' | 'unstable'>;
} {
  return { default: defaultVersion, available: Object.fromEntries(ROOM_VERSIONS.map((rules) => [rules.id, rules.stability])) };
}

/**
 * The room version grammar: 1 to 32 code points of `a-z`, `0-9`, `.` and `-`. Versions
 * made only of digits and dots are reserved for the Matrix protocol.
 * Spec: https://spec.matrix.org/v1.19/rooms/#room-version-grammar
 */
export function isValidRoomVersionId(id: string): boolean {
  return /^[a-z0-9.-]{1,32}$/.test(id);
}
