import type { JsonObject } from '@axon/matrix-canonical-json';
import { authStateFromMap, type AuthEvent } from '../auth-event';
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
} from '../authorization-rules';
import { checkEventAuth, type AuthResult, type EventAuthOptions } from '../event-auth';
import { formatStateKey, type StateKey } from '../state-key';

/** The authorization rule sets, by the first room version that uses each. */
export const RULES_BY_VERSION = {
  v1: AUTHORIZATION_V1,
  v3: AUTHORIZATION_V3,
  v6: AUTHORIZATION_V6,
  v7: AUTHORIZATION_V7,
  v8: AUTHORIZATION_V8,
  v10: AUTHORIZATION_V10,
  v11: AUTHORIZATION_V11,
  v12: AUTHORIZATION_V12,
} as const;

export type VersionName = keyof typeof RULES_BY_VERSION;
export const VERSION_NAMES = Object.keys(RULES_BY_VERSION) as VersionName[];

export const ALICE = '@alice:example.org';
export const BOB = '@bob:example.org';
export const MOD = '@mod:example.org';
export const CAROL = '@carol:example.org';
export const EVE = '@eve:other.example';

/** The room versions named in `m.room.create` that the tests treat as known. */
export const OPTIONS: EventAuthOptions = { isKnownRoomVersion: (version) => /^([1-9]|1[0-2])$/.test(version) };

/** A room version 12 create event ID (43 characters of URL-safe Base64) and its room. */
export const V12_CREATE_ID = '$' + 'A'.repeat(43);

export interface EventInput {
  readonly type: string;
  readonly sender: string;
  readonly state_key?: string;
  readonly content?: JsonObject;
  readonly prev_events?: readonly string[];
  readonly redacts?: string;
  readonly event_id?: string;
  readonly room_id?: string | null;
}

/**
 * A room built event by event for authorization tests: created by Alice, who joins and
 * sets power levels (herself 100, Mod 50) and the join rule; Bob joins. Events get
 * `$<n>:example.org` IDs; `state` is the current state the next event is checked against.
 */
export class RoomFixture {
  readonly state = new Map<StateKey, AuthEvent>();
  readonly roomId: string;
  readonly create: AuthEvent;
  private counter = 0;

  constructor(
    readonly version: VersionName,
    options: { readonly joinRule?: string; readonly createContent?: JsonObject; readonly powerLevels?: JsonObject | null } = {},
  ) {
    const rules = this.rules;
    this.roomId = rules.roomIdIsCreateEventId ? '!' + V12_CREATE_ID.slice(1) : '!room:example.org';
    this.create = this.apply({
      type: 'm.room.create',
      sender: ALICE,
      state_key: '',
      event_id: rules.roomIdIsCreateEventId ? V12_CREATE_ID : undefined,
      room_id: rules.roomIdIsCreateEventId ? null : undefined,
      content: options.createContent ?? (rules.useRoomCreateSender ? { room_version: '12' } : { creator: ALICE }),
      prev_events: [],
    });
    this.apply({ type: 'm.room.member', sender: ALICE, state_key: ALICE, content: { membership: 'join' }, prev_events: [this.create.event_id] });
    if (options.powerLevels !== null) {
      const users: JsonObject = rules.explicitlyPrivilegeRoomCreators ? { [MOD]: 50 } : { [ALICE]: 100, [MOD]: 50 };
      this.apply({ type: 'm.room.power_levels', sender: ALICE, state_key: '', content: options.powerLevels ?? { users } });
    }
    this.apply({ type: 'm.room.join_rules', sender: ALICE, state_key: '', content: { join_rule: options.joinRule ?? 'invite' } });
    for (const user of [MOD, BOB]) {
      this.apply({ type: 'm.room.member', sender: ALICE, state_key: user, content: { membership: 'invite' } });
      this.apply({ type: 'm.room.member', sender: user, state_key: user, content: { membership: 'join' } });
    }
  }

  get rules(): AuthorizationRules {
    return RULES_BY_VERSION[this.version];
  }

  /** Builds an event in this room without adding it to the state. */
  event(input: EventInput): AuthEvent {
    this.counter++;
    const roomId = input.room_id === null ? undefined : (input.room_id ?? this.roomId);
    return {
      event_id: input.event_id ?? `$${this.counter}:example.org`,
      ...(roomId === undefined ? {} : { room_id: roomId }),
      type: input.type,
      ...(input.state_key === undefined ? {} : { state_key: input.state_key }),
      sender: input.sender,
      content: input.content ?? {},
      origin_server_ts: 1_000 + this.counter,
      depth: this.counter,
      auth_events: [],
      prev_events: input.prev_events ?? [`$${this.counter - 1}:example.org`],
      ...(input.redacts === undefined ? {} : { redacts: input.redacts }),
    };
  }

  /** Puts a (state) event into the state, unchecked: the room's history as given. */
  apply(input: EventInput | AuthEvent): AuthEvent {
    const event = 'event_id' in input && typeof input.event_id === 'string' && 'depth' in input ? (input as AuthEvent) : this.event(input);
    if (event.state_key !== undefined) this.state.set(formatStateKey(event.type, event.state_key), event);
    return event;
  }

  /** Sets a user's membership directly. */
  member(user: string, membership: string, sender = user, extra: JsonObject = {}): AuthEvent {
    return this.apply({ type: 'm.room.member', sender, state_key: user, content: { membership, ...extra } });
  }

  /** Replaces the power levels content directly. */
  powerLevels(content: JsonObject): AuthEvent {
    return this.apply({ type: 'm.room.power_levels', sender: ALICE, state_key: '', content });
  }

  /** Checks an event against the current state. */
  check(input: EventInput | AuthEvent, options: EventAuthOptions = OPTIONS): AuthResult {
    const event = 'depth' in input ? input : this.event(input);
    return checkEventAuth(event, authStateFromMap(this.state), this.rules, options);
  }
}

/** `'allow'`, or the rule number a rejection names. */
export function outcome(result: AuthResult): string {
  return result.ok ? 'allow' : result.error.rule;
}

/**
 * Expected outcomes per rule set: `all` for every version, overridden from a version
 * onwards by later keys (`{ all: 'allow', v7: '5.8' }` means allow in v1-v6, 5.8 from v7).
 */
export function outcomesFrom(changes: { readonly all: string } & Partial<Record<VersionName, string>>): Record<VersionName, string> {
  const result = {} as Record<VersionName, string>;
  let current = changes.all;
  for (const version of VERSION_NAMES) {
    current = changes[version] ?? current;
    result[version] = current;
  }
  return result;
}
