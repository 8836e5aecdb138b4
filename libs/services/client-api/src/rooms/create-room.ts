import type { ProtoEvent } from '@axon/contracts-kafka';
import { MatrixError } from '@axon/matrix-errors';
import { parseUserId } from '@axon/matrix-identifiers';
import { getRoomVersionRules, type RoomVersionRules } from '@axon/matrix-room-versions';

type Json = Readonly<Record<string, unknown>>;

/** The presets of `POST /createRoom` and the state each implies. */
const PRESETS: Readonly<Record<string, { join_rule: string; history_visibility: string; guest_access: string }>> = {
  private_chat: { join_rule: 'invite', history_visibility: 'shared', guest_access: 'can_join' },
  trusted_private_chat: { join_rule: 'invite', history_visibility: 'shared', guest_access: 'can_join' },
  public_chat: { join_rule: 'public', history_visibility: 'shared', guest_access: 'forbidden' },
};

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function optionalString(body: Json, key: string): string | undefined {
  const value = body[key];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new MatrixError('M_BAD_JSON', `"${key}" must be a string`);
  return value;
}

/** A parsed `POST /createRoom` request. */
export interface CreateRoomRequest {
  readonly rules: RoomVersionRules;
  readonly events: ProtoEvent[];
  readonly visibility: 'public' | 'private';
  /** The full alias `#<room_alias_name>:<server>` to create, when asked for. */
  readonly roomAlias: string | undefined;
}

/**
 * The events `POST /createRoom` implies, in the order the spec requires: the create
 * event, the creator's join, power levels (defaults, then the override), the canonical
 * alias when `room_alias_name` is given, the preset's
 * join rules, history visibility and guest access, `initial_state`, name and topic, and
 * the invites. Refuses malformed requests with `M_BAD_JSON`/`M_INVALID_PARAM` and unknown
 * room versions with `M_UNSUPPORTED_ROOM_VERSION`.
 *
 * Spec: https://spec.matrix.org/v1.19/client-server-api/#post_matrixclientv3createroom
 */
export function planCreateRoom(body: Json, creator: string, profile: Json, defaultVersion: string, serverName: string): CreateRoomRequest {
  const version = optionalString(body, 'room_version') ?? defaultVersion;
  const rules = getRoomVersionRules(version);
  if (!rules.ok) throw rules.error;
  const visibility = optionalString(body, 'visibility') ?? 'private';
  if (visibility !== 'public' && visibility !== 'private') throw new MatrixError('M_INVALID_PARAM', 'visibility must be "public" or "private"');
  const presetName = optionalString(body, 'preset') ?? (visibility === 'public' ? 'public_chat' : 'private_chat');
  const preset = PRESETS[presetName];
  if (preset === undefined) throw new MatrixError('M_INVALID_PARAM', `unknown preset ${JSON.stringify(presetName)}`);
  const invites = body['invite'] ?? [];
  if (!Array.isArray(invites) || !invites.every((user) => typeof user === 'string')) throw new MatrixError('M_BAD_JSON', '"invite" must be a list of user IDs');
  for (const user of invites as string[]) {
    if (!parseUserId(user).ok) throw new MatrixError('M_INVALID_PARAM', `${JSON.stringify(user)} is not a user ID`);
  }
  const isDirect = body['is_direct'];
  if (isDirect !== undefined && typeof isDirect !== 'boolean') throw new MatrixError('M_BAD_JSON', '"is_direct" must be a boolean');
  const creationContent = body['creation_content'] ?? {};
  if (!isObject(creationContent)) throw new MatrixError('M_BAD_JSON', '"creation_content" must be an object');
  const override = body['power_level_content_override'];
  if (override !== undefined && !isObject(override)) throw new MatrixError('M_BAD_JSON', '"power_level_content_override" must be an object');
  const initialState = body['initial_state'] ?? [];
  if (!Array.isArray(initialState)) throw new MatrixError('M_BAD_JSON', '"initial_state" must be a list');
  if (body['invite_3pid'] !== undefined && (!Array.isArray(body['invite_3pid']) || body['invite_3pid'].length > 0)) {
    throw new MatrixError('M_UNRECOGNIZED', 'third-party invites are not supported by this server yet', 400);
  }

  const trusted = presetName === 'trusted_private_chat';
  const privileged = rules.value.authorization.explicitlyPrivilegeRoomCreators;
  const createContent: Record<string, unknown> = { ...creationContent, room_version: rules.value.id };
  if (!rules.value.authorization.useRoomCreateSender) createContent['creator'] = creator;
  else delete createContent['creator'];
  if (privileged && trusted && invites.length > 0) {
    const existing = Array.isArray(createContent['additional_creators']) ? (createContent['additional_creators'] as unknown[]) : [];
    createContent['additional_creators'] = [...new Set([...existing, ...(invites as string[])])];
  }
  const events: ProtoEvent[] = [
    { type: 'm.room.create', state_key: '', sender: creator, content: createContent },
    { type: 'm.room.member', state_key: creator, sender: creator, content: { ...profile, membership: 'join' } },
  ];

  const users: Record<string, number> = privileged ? {} : { [creator]: 100 };
  if (trusted && !privileged) for (const user of invites as string[]) users[user] = 100;
  const powerLevels: Record<string, unknown> = {
    users,
    users_default: 0,
    events: {
      'm.room.name': 50,
      'm.room.power_levels': 100,
      'm.room.history_visibility': 100,
      'm.room.canonical_alias': 50,
      'm.room.avatar': 50,
      'm.room.tombstone': privileged ? 150 : 100,
      'm.room.server_acl': 100,
      'm.room.encryption': 100,
    },
    events_default: 0,
    state_default: 50,
    ban: 50,
    kick: 50,
    redact: 50,
    invite: presetName === 'public_chat' ? 50 : 0,
    notifications: { room: 50 },
    ...(override ?? {}),
  };
  events.push({ type: 'm.room.power_levels', state_key: '', sender: creator, content: powerLevels });

  const roomAliasName = optionalString(body, 'room_alias_name');
  if (roomAliasName !== undefined) {
    events.push({ type: 'm.room.canonical_alias', state_key: '', sender: creator, content: { alias: `#${roomAliasName}:${serverName}` } });
  }
  events.push({ type: 'm.room.join_rules', state_key: '', sender: creator, content: { join_rule: preset.join_rule } });
  events.push({ type: 'm.room.history_visibility', state_key: '', sender: creator, content: { history_visibility: preset.history_visibility } });
  events.push({ type: 'm.room.guest_access', state_key: '', sender: creator, content: { guest_access: preset.guest_access } });
  for (const [index, entry] of initialState.entries()) {
    if (!isObject(entry) || typeof entry['type'] !== 'string' || !isObject(entry['content'])) {
      throw new MatrixError('M_BAD_JSON', `initial_state[${index}] needs a type and a content object`);
    }
    const stateKey = entry['state_key'] ?? '';
    if (typeof stateKey !== 'string') throw new MatrixError('M_BAD_JSON', `initial_state[${index}].state_key must be a string`);
    events.push({ type: entry['type'], state_key: stateKey, sender: creator, content: entry['content'] });
  }
  const name = optionalString(body, 'name');
  if (name !== undefined) events.push({ type: 'm.room.name', state_key: '', sender: creator, content: { name } });
  const topic = optionalString(body, 'topic');
  if (topic !== undefined) {
    events.push({ type: 'm.room.topic', state_key: '', sender: creator, content: { topic, 'm.topic': { 'm.text': [{ body: topic }] } } });
  }
  for (const user of invites as string[]) {
    events.push({ type: 'm.room.member', state_key: user, sender: creator, content: { membership: 'invite', ...(isDirect === true ? { is_direct: true } : {}) } });
  }
  return { rules: rules.value, events, visibility, roomAlias: roomAliasName === undefined ? undefined : `#${roomAliasName}:${serverName}` };
}
