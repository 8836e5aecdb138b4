import { createHash } from 'node:crypto';
import type { JsonObject } from '@axon/matrix-canonical-json';
import {
  AUTHORIZATION_V1,
  AUTHORIZATION_V11,
  AUTHORIZATION_V12,
  formatStateKey,
  selectAuthEventKeys,
  type EventAuthOptions,
  type StateKey,
} from '@axon/matrix-event-auth';
import { resolveState, type StateResolutionRoomRules } from '../resolve-state';
import { STATE_RES_V1, STATE_RES_V2, STATE_RES_V2_1 } from '../state-resolution-rules';
import { stateResolutionSourceFromEvents, type StateResolutionEvent, type StateResolutionSource } from '../state-resolution-source';
import type { StateMap } from '../state-sets';

// The test room builder of the state resolution tests: rooms whose events cite the auth
// events the auth events selection picks, built on forking branches.
// Spec: https://spec.matrix.org/v1.19/server-server-api/#auth-events-selection

/** The room creator. */
export const ALICE = '@alice:example.org';
export const BOB = '@bob:example.org';
export const CHARLIE = '@charlie:example.org';
export const ZARA = '@zara:example.org';

/** The room versions named in `m.room.create` that the tests treat as known. */
export const OPTIONS: EventAuthOptions = { isKnownRoomVersion: (version) => /^([1-9]|1[0-2])$/.test(version) };

/** A named pair of authorization and state resolution rules (one room version, or a mix). */
export interface NamedRules extends StateResolutionRoomRules {
  readonly name: string;
  readonly roomVersion: string;
}

/** Room version 1: state resolution v1. */
export const ROOM_V1: NamedRules = { name: 'v1', roomVersion: '1', authorization: AUTHORIZATION_V1, stateResolution: STATE_RES_V1 };
/** Room version 11: state resolution v2. */
export const ROOM_V11: NamedRules = { name: 'v2 (room v11)', roomVersion: '11', authorization: AUTHORIZATION_V11, stateResolution: STATE_RES_V2 };
/** Room version 12: state resolution v2.1, creators with infinite power. */
export const ROOM_V12: NamedRules = { name: 'v2.1 (room v12)', roomVersion: '12', authorization: AUTHORIZATION_V12, stateResolution: STATE_RES_V2_1 };
/** Room version 12's authorization rules with plain v2: isolates what v2.1 changes. */
export const ROOM_V12_WITH_V2: NamedRules = { name: 'v2 (room v12 auth)', roomVersion: '12', authorization: AUTHORIZATION_V12, stateResolution: STATE_RES_V2 };

/** What a test says about an event; everything else is derived. */
export interface EventSpec {
  readonly id: string;
  readonly type: string;
  readonly sender: string;
  readonly state_key?: string;
  readonly content?: JsonObject;
  /** Defaults to the room clock, which ticks once per event. */
  readonly ts?: number;
  /** Overrides the auth events selection. */
  readonly auth?: readonly string[];
  /** Overrides the depth (one more than the branch's). */
  readonly depth?: number;
  readonly rejected?: boolean;
}

/** The options of a room's first events. */
export interface RoomSetup {
  /** Extra `users` of the first power levels event (the creator gets 100 before v12). */
  readonly users?: JsonObject;
  readonly joinRule?: string;
  /** Users who join after the join rules (default Bob and Charlie). */
  readonly members?: readonly string[];
  /** Extra power levels content. */
  readonly powerLevels?: JsonObject;
}

/**
 * A line of history in a test room: its current state and depth. Events sent on it cite
 * the auth events the auth events selection picks from its state.
 * Spec: https://spec.matrix.org/v1.19/server-server-api/#auth-events-selection
 */
export class Branch {
  constructor(
    private readonly room: TestRoom,
    readonly state: Map<StateKey, string>,
    public depth: number,
  ) {}

  /** A new branch from this one's current state. */
  fork(): Branch {
    return new Branch(this.room, new Map(this.state), this.depth);
  }

  /** Sends an event on this branch (its state changes even if the event is not allowed). */
  send(spec: EventSpec): StateResolutionEvent {
    const event = this.room.build(spec, this);
    this.depth = event.depth;
    if (event.state_key !== undefined) this.state.set(formatStateKey(event.type, event.state_key), event.event_id);
    return event;
  }

  /** Sends a membership event. */
  member(id: string, sender: string, target: string, membership: string, extra: Partial<EventSpec> = {}): StateResolutionEvent {
    return this.send({ id, type: 'm.room.member', sender, state_key: target, content: { membership }, ...extra });
  }

  /** Sends `m.room.power_levels` with these `users` (plus the room's base content). */
  powerLevels(id: string, sender: string, users: JsonObject, extra: Partial<EventSpec> = {}): StateResolutionEvent {
    return this.send({ id, type: 'm.room.power_levels', sender, state_key: '', content: { ...this.room.basePowerLevels, users: { ...this.room.creatorUsers, ...users } }, ...extra });
  }

  /** Sends a state event with an empty state key. */
  state0(id: string, sender: string, type: string, content: JsonObject, extra: Partial<EventSpec> = {}): StateResolutionEvent {
    return this.send({ id, type, sender, state_key: '', content, ...extra });
  }

  /** Takes another branch's event into this branch's state (as a merge would). */
  adopt(...events: StateResolutionEvent[]): this {
    for (const event of events) if (event.state_key !== undefined) this.state.set(formatStateKey(event.type, event.state_key), event.event_id);
    return this;
  }

  /** The state entry of a key. */
  get(type: string, stateKey = ''): string | undefined {
    return this.state.get(formatStateKey(type, stateKey));
  }
}

/**
 * A room for state resolution tests, created by Alice: `$CREATE` (for room version 12 a
 * 43-character ID whose room is `!` + it), Alice's join `$IMA`, power levels `$IPOWER`
 * (Alice 100 before v12, where she has infinite power as creator), join rules `$IJR`
 * (`public` by default), then joins `$IMB` (Bob) and `$IMC` (Charlie). `root` is the
 * branch after those; fork it and send events.
 *
 * Spec: https://spec.matrix.org/v1.19/rooms/v2/#state-resolution
 */
export class TestRoom {
  readonly events = new Map<string, StateResolutionEvent>();
  readonly roomId: string;
  readonly createId: string;
  readonly root: Branch;
  readonly creatorUsers: JsonObject;
  readonly basePowerLevels: JsonObject;
  private clock = 0;

  constructor(
    readonly rules: NamedRules,
    setup: RoomSetup = {},
  ) {
    const v12 = rules.authorization.roomIdIsCreateEventId;
    this.createId = v12 ? `$${createHash('sha256').update('test room').digest('base64url')}` : '$CREATE';
    this.roomId = v12 ? `!${this.createId.slice(1)}` : '!room:example.org';
    this.creatorUsers = rules.authorization.explicitlyPrivilegeRoomCreators ? {} : { [ALICE]: 100 };
    this.basePowerLevels = setup.powerLevels ?? {};
    this.root = new Branch(this, new Map(), 0);
    const root = this.root;
    root.send({
      id: this.createId,
      type: 'm.room.create',
      sender: ALICE,
      state_key: '',
      content: rules.authorization.useRoomCreateSender ? { room_version: rules.roomVersion } : { creator: ALICE, room_version: rules.roomVersion },
    });
    root.member('$IMA', ALICE, ALICE, 'join');
    root.powerLevels('$IPOWER', ALICE, setup.users ?? {});
    root.state0('$IJR', ALICE, 'm.room.join_rules', { join_rule: setup.joinRule ?? 'public' });
    const ids: Record<string, string> = { [BOB]: '$IMB', [CHARLIE]: '$IMC', [ZARA]: '$IMZ' };
    for (const user of setup.members ?? [BOB, CHARLIE]) root.member(ids[user] ?? `$IM${user}`, user, user, 'join');
  }

  /** Builds an event on a branch, with auth events selected from the branch's state. */
  build(spec: EventSpec, branch: Branch): StateResolutionEvent {
    if (this.events.has(spec.id)) throw new Error(`duplicate test event ID ${spec.id}`);
    const content = spec.content ?? {};
    const selection = { type: spec.type, sender: spec.sender, content, ...(spec.state_key === undefined ? {} : { state_key: spec.state_key }) };
    const auth = spec.auth ?? selectAuthEventKeys(selection, this.rules.authorization).flatMap((key) => {
      const id = branch.state.get(key);
      return id === undefined ? [] : [id];
    });
    const isV12Create = spec.type === 'm.room.create' && this.rules.authorization.roomIdIsCreateEventId;
    this.clock++;
    const event: StateResolutionEvent = {
      event_id: spec.id,
      ...(isV12Create ? {} : { room_id: this.roomId }),
      type: spec.type,
      ...(spec.state_key === undefined ? {} : { state_key: spec.state_key }),
      sender: spec.sender,
      content,
      origin_server_ts: spec.ts ?? this.clock,
      depth: spec.depth ?? branch.depth + 1,
      auth_events: auth,
      prev_events: [],
      ...(spec.rejected === undefined ? {} : { rejected: spec.rejected }),
    };
    this.events.set(event.event_id, event);
    return event;
  }

  /** A source over every event built so far (optionally leaving some out, as unknown). */
  source(options: { readonly without?: readonly string[]; readonly order?: (events: StateResolutionEvent[]) => StateResolutionEvent[] } = {}): StateResolutionSource {
    let events = [...this.events.values()].filter((event) => !(options.without ?? []).includes(event.event_id));
    if (options.order !== undefined) events = options.order(events);
    return stateResolutionSourceFromEvents(events);
  }

  /** Resolves state sets with the room's rules (or others). */
  resolve(stateSets: readonly StateMap[], source = this.source(), rules: StateResolutionRoomRules = this.rules): Promise<Map<StateKey, string>> {
    return resolveState(stateSets, rules, source, OPTIONS);
  }
}

/** The state entry of a key in a resolved state. */
export function entry(state: ReadonlyMap<StateKey, string>, type: string, stateKey = ''): string | undefined {
  return state.get(formatStateKey(type, stateKey));
}
