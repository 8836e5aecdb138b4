import type { JsonObject, JsonValue } from '@axon/matrix-canonical-json';
import { isJsonObject } from './pdu';

/**
 * Which `content` keys of one event type survive redaction: a list, or `'all'` (the whole
 * content, as for `m.room.create` from room version 11).
 * Spec: https://spec.matrix.org/v1.19/rooms/v11/#redactions
 */
export type RedactedContentKeys = readonly string[] | 'all';

/**
 * The redaction sub-rules of a room version, as plain data. The room-versions library
 * maps each room version to one of the `REDACTION_V*` constants.
 * Spec: https://spec.matrix.org/v1.19/rooms/v1/#redactions
 */
export interface RedactionRules {
  /** Top-level keys kept; every other key is stripped. */
  readonly keptTopLevelKeys: readonly string[];
  /** Per event type, the `content` keys kept; the content of other types is emptied. */
  readonly keptContentKeys: Readonly<Record<string, RedactedContentKeys>>;
  /**
   * `m.room.member` keeps `third_party_invite`, reduced to its `signed` key (introduced in
   * room version 11).
   */
  readonly keepsThirdPartyInviteSigned: boolean;
}

const POWER_LEVELS_V1 = ['ban', 'events', 'events_default', 'kick', 'redact', 'state_default', 'users', 'users_default'];

/**
 * The redaction algorithm of room versions 1 to 5 (`v1-redactions`): `m.room.aliases`
 * keeps `aliases`.
 * Spec: https://spec.matrix.org/v1.19/rooms/v1/#redactions
 */
export const REDACTION_V1: RedactionRules = {
  keptTopLevelKeys: [
    'event_id',
    'type',
    'room_id',
    'sender',
    'state_key',
    'content',
    'hashes',
    'signatures',
    'depth',
    'prev_events',
    'prev_state',
    'auth_events',
    'origin',
    'origin_server_ts',
    'membership',
  ],
  keptContentKeys: {
    'm.room.member': ['membership'],
    'm.room.create': ['creator'],
    'm.room.join_rules': ['join_rule'],
    'm.room.power_levels': POWER_LEVELS_V1,
    'm.room.aliases': ['aliases'],
    'm.room.history_visibility': ['history_visibility'],
  },
  keepsThirdPartyInviteSigned: false,
};

/**
 * Introduced in room version 6 (`v6-redactions`): `m.room.aliases` no longer keeps any
 * content. Used by room versions 6 and 7.
 * Spec: https://spec.matrix.org/v1.19/rooms/v6/#redactions
 */
export const REDACTION_V6: RedactionRules = {
  ...REDACTION_V1,
  keptContentKeys: withoutType(REDACTION_V1.keptContentKeys, 'm.room.aliases'),
};

/**
 * Introduced in room version 8: `m.room.join_rules` also keeps `allow`.
 * Spec: https://spec.matrix.org/v1.19/rooms/v8/#redactions
 */
export const REDACTION_V8: RedactionRules = {
  ...REDACTION_V6,
  keptContentKeys: { ...REDACTION_V6.keptContentKeys, 'm.room.join_rules': ['join_rule', 'allow'] },
};

/**
 * Introduced in room version 9 (`v9-redactions`): `m.room.member` also keeps
 * `join_authorised_via_users_server`. Used by room versions 9 and 10.
 * Spec: https://spec.matrix.org/v1.19/rooms/v9/#redactions
 */
export const REDACTION_V9: RedactionRules = {
  ...REDACTION_V8,
  keptContentKeys: {
    ...REDACTION_V8.keptContentKeys,
    'm.room.member': ['membership', 'join_authorised_via_users_server'],
  },
};

/**
 * Introduced in room version 11 (`v11-redactions`), also used by room version 12 (which
 * keeps this algorithm unchanged): the top-level `origin`, `membership` and `prev_state`
 * are no longer kept; `m.room.create` keeps all content; `m.room.power_levels` also keeps
 * `invite`; `m.room.redaction` keeps `redacts`; `m.room.member` keeps the `signed` key of
 * `third_party_invite`.
 * Spec: https://spec.matrix.org/v1.19/rooms/v11/#redactions
 */
export const REDACTION_V11: RedactionRules = {
  keptTopLevelKeys: REDACTION_V9.keptTopLevelKeys.filter((key) => !['origin', 'membership', 'prev_state'].includes(key)),
  keptContentKeys: {
    ...REDACTION_V9.keptContentKeys,
    'm.room.create': 'all',
    'm.room.power_levels': [...POWER_LEVELS_V1, 'invite'],
    'm.room.redaction': ['redacts'],
  },
  keepsThirdPartyInviteSigned: true,
};

/**
 * Redacts an event: returns a new object with only the keys the algorithm keeps. The
 * input is never mutated and the result shares no objects with it. A `content` that is
 * not an object becomes `{}`; a `third_party_invite` that is not an object is dropped
 * (the spec only describes the object case).
 * Spec: https://spec.matrix.org/v1.19/rooms/v11/#redactions
 */
export function redactEvent<T extends JsonObject>(pdu: T, rules: RedactionRules): JsonObject {
  const redacted: JsonObject = {};
  for (const key of rules.keptTopLevelKeys) {
    const value = ownValue(pdu, key);
    if (value === undefined) continue;
    redacted[key] = key === 'content' ? redactContent(pdu, value, rules) : cloneJson(value);
  }
  return redacted;
}

function redactContent(pdu: JsonObject, content: JsonValue, rules: RedactionRules): JsonObject {
  if (!isJsonObject(content)) return {};
  const type = ownValue(pdu, 'type');
  const kept = typeof type === 'string' ? ownValue(rules.keptContentKeys, type) : undefined;
  if (kept === 'all') return cloneJson(content) as JsonObject;
  const redacted: JsonObject = {};
  for (const key of kept ?? []) {
    const value = ownValue(content, key);
    if (value !== undefined) redacted[key] = cloneJson(value);
  }
  if (rules.keepsThirdPartyInviteSigned && type === 'm.room.member') {
    const invite = ownValue(content, 'third_party_invite');
    if (isJsonObject(invite)) {
      const signed = ownValue(invite, 'signed');
      redacted['third_party_invite'] = signed === undefined ? {} : { signed: cloneJson(signed) };
    }
  }
  return redacted;
}

function ownValue<V>(object: { readonly [key: string]: V }, key: string): V | undefined {
  return Object.prototype.hasOwnProperty.call(object, key) ? object[key] : undefined;
}

function cloneJson(value: JsonValue): JsonValue {
  if (Array.isArray(value)) return value.map(cloneJson);
  if (!isJsonObject(value)) return value;
  const copy: JsonObject = {};
  for (const key of Object.keys(value)) {
    const member = value[key];
    if (member !== undefined) defineMember(copy, key, cloneJson(member));
  }
  return copy;
}

// `__proto__` is an ordinary key in JSON; plain assignment would set the prototype instead.
function defineMember(target: JsonObject, key: string, value: JsonValue): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

function withoutType(
  keys: Readonly<Record<string, RedactedContentKeys>>,
  type: string,
): Readonly<Record<string, RedactedContentKeys>> {
  return Object.fromEntries(Object.entries(keys).filter(([key]) => key !== type));
}
