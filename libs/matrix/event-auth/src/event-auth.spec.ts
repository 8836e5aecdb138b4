import fc from 'fast-check';
import type { JsonObject } from '@axon/matrix-canonical-json';
import { authStateFromMap, type AuthEvent } from './auth-event';
import { getJoinRuleAccess, getRestrictedJoinAllowedRooms } from './join-rules';
import { getJoinRule } from './room-state';
import { formatStateKey } from './state-key';
import {
  ALICE,
  BOB,
  CAROL,
  EVE,
  MOD,
  outcome,
  outcomesFrom,
  RoomFixture,
  V12_CREATE_ID,
  VERSION_NAMES,
  type EventInput,
  type VersionName,
} from './testing/room-fixture';

// The authorization rules, one row per rule outcome: the same event under every rule set
// (v1, v3, v6, v7, v8, v10, v11, v12), with the expected outcome per version.
// `outcomesFrom({ all, vN })` reads "this outcome, and from room version N that one".

interface Row {
  readonly name: string;
  readonly room?: ConstructorParameters<typeof RoomFixture>[1];
  readonly setup?: (room: RoomFixture) => void;
  readonly event: (room: RoomFixture) => EventInput | AuthEvent;
  readonly expected: Record<VersionName, string>;
}

const create = (content: JsonObject, extra: Partial<EventInput> = {}) => (room: RoomFixture): EventInput => ({
  type: 'm.room.create',
  sender: ALICE,
  state_key: '',
  content,
  prev_events: [],
  ...(room.rules.roomIdIsCreateEventId ? { room_id: null, event_id: '$' + 'B'.repeat(43) } : {}),
  ...extra,
});

const member = (sender: string, target: string, membership: string, content: JsonObject = {}) => (): EventInput => ({
  type: 'm.room.member',
  sender,
  state_key: target,
  content: { membership, ...content },
});

const message = (sender: string) => (): EventInput => ({ type: 'm.room.message', sender, content: { body: 'hi' } });
const state = (sender: string, type: string, stateKey: string, content: JsonObject = {}) => (): EventInput => ({ type, sender, state_key: stateKey, content });

const ROWS: Row[] = [
  // Rule 1: m.room.create
  { name: 'a create event without prev_events is allowed', event: create({ creator: ALICE, room_version: '1' }), expected: outcomesFrom({ all: 'allow' }) },
  { name: 'a create event with prev_events', event: create({ creator: ALICE }, { prev_events: ['$0:example.org'] }), expected: outcomesFrom({ all: 'create.prev_events' }) },
  {
    name: 'a create event whose room ID is from another server (a room_id at all from v12)',
    event: create({ creator: ALICE }, { room_id: '!x:other.example' }),
    expected: outcomesFrom({ all: 'create.room_id' }),
  },
  { name: 'a create event naming an unknown room version', event: create({ creator: ALICE, room_version: '99' }), expected: outcomesFrom({ all: 'create.room_version' }) },
  { name: 'a create event with a non-string room version', event: create({ creator: ALICE, room_version: 12 }), expected: outcomesFrom({ all: 'create.room_version' }) },
  { name: 'a create event without creator (needed until v11)', event: create({}), expected: outcomesFrom({ all: 'create.creator', v11: 'allow' }) },
  {
    name: 'a create event with additional_creators that are not user IDs (checked from v12)',
    event: create({ creator: ALICE, additional_creators: ['bob'] }),
    expected: outcomesFrom({ all: 'allow', v12: 'create.additional_creators' }),
  },
  {
    name: 'a create event with valid additional_creators',
    event: create({ creator: ALICE, additional_creators: [BOB] }),
    expected: outcomesFrom({ all: 'allow' }),
  },
  // v12 rule 2: the room ID names the create event
  {
    name: 'an event whose room ID names another create event (v12)',
    event: (room) => ({ ...message(ALICE)(), room_id: room.rules.roomIdIsCreateEventId ? '!' + 'B'.repeat(43) : room.roomId }),
    expected: outcomesFrom({ all: 'allow', v12: 'room_id.create_event' }),
  },
  // m.federate
  {
    name: 'a remote user in a room that does not federate',
    room: { joinRule: 'public', createContent: { creator: ALICE, 'm.federate': false } },
    event: member(EVE, EVE, 'join'),
    expected: outcomesFrom({ all: 'federate' }),
  },
  {
    name: 'a local user in a room that does not federate',
    room: { joinRule: 'public', createContent: { creator: ALICE, 'm.federate': false } },
    event: member(CAROL, CAROL, 'join'),
    expected: outcomesFrom({ all: 'allow' }),
  },
  // Rule 4 of v1-5: m.room.aliases
  {
    name: 'm.room.aliases by a non-member for their own server (the v1-5 special case)',
    event: state(EVE, 'm.room.aliases', 'other.example', { aliases: ['#a:other.example'] }),
    expected: outcomesFrom({ all: 'allow', v6: 'sender.not_joined' }),
  },
  {
    name: 'm.room.aliases for another server',
    event: state(BOB, 'm.room.aliases', 'other.example', { aliases: [] }),
    expected: outcomesFrom({ all: 'aliases.state_key', v6: 'power.required' }),
  },
  // Membership: malformed and joins
  { name: 'a member event without membership', event: () => ({ type: 'm.room.member', sender: CAROL, state_key: CAROL, content: {} }), expected: outcomesFrom({ all: 'member.malformed' }) },
  {
    name: 'the creator\'s first join (content.creator until v11, the create sender from v11)',
    room: { createContent: { creator: CAROL, room_version: '1' } },
    event: (room) => ({ ...member(CAROL, CAROL, 'join')(), prev_events: [room.create.event_id] }),
    expected: outcomesFrom({ all: 'allow', v11: 'member.join.not_invited' }),
  },
  {
    name: 'the create sender\'s first join when content.creator names someone else',
    room: { createContent: { creator: BOB, room_version: '1' } },
    setup: (room) => room.member(ALICE, 'leave'),
    event: (room) => ({ ...member(ALICE, ALICE, 'join')(), prev_events: [room.create.event_id] }),
    expected: outcomesFrom({ all: 'member.join.not_invited', v11: 'allow' }),
  },
  { name: 'joining on behalf of someone else', room: { joinRule: 'public' }, event: member(ALICE, CAROL, 'join'), expected: outcomesFrom({ all: 'member.join.other_user' }) },
  {
    name: 'a banned user joins a public room',
    room: { joinRule: 'public' },
    setup: (room) => room.member(CAROL, 'ban', ALICE),
    event: member(CAROL, CAROL, 'join'),
    expected: outcomesFrom({ all: 'member.join.banned' }),
  },
  { name: 'an uninvited user joins an invite-only room', event: member(CAROL, CAROL, 'join'), expected: outcomesFrom({ all: 'member.join.not_invited' }) },
  {
    name: 'an invited user joins an invite-only room',
    setup: (room) => room.member(CAROL, 'invite', ALICE),
    event: member(CAROL, CAROL, 'join'),
    expected: outcomesFrom({ all: 'allow' }),
  },
  {
    name: 'an invited user joins a knock room (a known join rule from v7)',
    room: { joinRule: 'knock' },
    setup: (room) => room.member(CAROL, 'invite', ALICE),
    event: member(CAROL, CAROL, 'join'),
    expected: outcomesFrom({ all: 'member.join.join_rule', v7: 'allow' }),
  },
  { name: 'anyone joins a public room', room: { joinRule: 'public' }, event: member(CAROL, CAROL, 'join'), expected: outcomesFrom({ all: 'allow' }) },
  { name: 'a join under an unknown join rule', room: { joinRule: 'private' }, event: member(CAROL, CAROL, 'join'), expected: outcomesFrom({ all: 'member.join.join_rule' }) },
  {
    name: 'a restricted join authorised by a joined user who can invite (from v8)',
    room: { joinRule: 'restricted' },
    event: member(CAROL, CAROL, 'join', { join_authorised_via_users_server: BOB }),
    expected: outcomesFrom({ all: 'member.join.join_rule', v8: 'allow' }),
  },
  {
    name: 'a restricted join without an authorising user',
    room: { joinRule: 'restricted' },
    event: member(CAROL, CAROL, 'join'),
    expected: outcomesFrom({ all: 'member.join.join_rule', v8: 'member.join.not_authorised' }),
  },
  {
    name: 'a restricted join authorised by a user who is not joined',
    room: { joinRule: 'restricted' },
    event: member(CAROL, CAROL, 'join', { join_authorised_via_users_server: EVE }),
    expected: outcomesFrom({ all: 'member.join.join_rule', v8: 'member.join.not_authorised' }),
  },
  {
    name: 'a restricted join authorised by a joined user below the invite level',
    room: { joinRule: 'restricted' },
    setup: (room) => room.powerLevels({ users: room.rules.explicitlyPrivilegeRoomCreators ? {} : { [ALICE]: 100 }, invite: 50 }),
    event: member(CAROL, CAROL, 'join', { join_authorised_via_users_server: BOB }),
    expected: outcomesFrom({ all: 'member.join.join_rule', v8: 'member.join.not_authorised' }),
  },
  {
    name: 'an invited user joins a restricted room without an authoriser',
    room: { joinRule: 'restricted' },
    setup: (room) => room.member(CAROL, 'invite', ALICE),
    event: member(CAROL, CAROL, 'join'),
    expected: outcomesFrom({ all: 'member.join.join_rule', v8: 'allow' }),
  },
  {
    name: 'a knock_restricted join authorised by a joined user (from v10)',
    room: { joinRule: 'knock_restricted' },
    event: member(CAROL, CAROL, 'join', { join_authorised_via_users_server: BOB }),
    expected: outcomesFrom({ all: 'member.join.join_rule', v10: 'allow' }),
  },
  // Invites
  { name: 'a joined user invites', event: member(BOB, CAROL, 'invite'), expected: outcomesFrom({ all: 'allow' }) },
  { name: 'a non-member invites', event: member(CAROL, EVE, 'invite'), expected: outcomesFrom({ all: 'member.invite.sender_not_joined' }) },
  { name: 'inviting a joined user', event: member(BOB, MOD, 'invite'), expected: outcomesFrom({ all: 'member.invite.target_membership' }) },
  {
    name: 'inviting a banned user',
    setup: (room) => room.member(CAROL, 'ban', ALICE),
    event: member(BOB, CAROL, 'invite'),
    expected: outcomesFrom({ all: 'member.invite.target_membership' }),
  },
  {
    name: 'inviting below the invite level',
    setup: (room) => room.powerLevels({ users: room.rules.explicitlyPrivilegeRoomCreators ? {} : { [ALICE]: 100 }, invite: 10 }),
    event: member(BOB, CAROL, 'invite'),
    expected: outcomesFrom({ all: 'member.invite.power' }),
  },
  // Leaves and kicks
  { name: 'a joined user leaves', event: member(BOB, BOB, 'leave'), expected: outcomesFrom({ all: 'allow' }) },
  { name: 'an invited user rejects the invite', setup: (room) => room.member(CAROL, 'invite', ALICE), event: member(CAROL, CAROL, 'leave'), expected: outcomesFrom({ all: 'allow' }) },
  {
    name: 'a knocking user withdraws the knock (knock is a membership from v7)',
    room: { joinRule: 'knock' },
    setup: (room) => room.member(CAROL, 'knock'),
    event: member(CAROL, CAROL, 'leave'),
    expected: outcomesFrom({ all: 'member.leave.membership', v7: 'allow' }),
  },
  { name: 'a user who left leaves again', event: member(CAROL, CAROL, 'leave'), expected: outcomesFrom({ all: 'member.leave.membership' }) },
  {
    name: 'a banned user tries to lift the ban by leaving',
    setup: (room) => room.member(CAROL, 'ban', ALICE),
    event: member(CAROL, CAROL, 'leave'),
    expected: outcomesFrom({ all: 'member.leave.membership' }),
  },
  { name: 'a non-member kicks', event: member(CAROL, BOB, 'leave'), expected: outcomesFrom({ all: 'member.leave.sender_not_joined' }) },
  {
    name: 'unbanning below the ban level',
    setup: (room) => {
      room.member(CAROL, 'ban', ALICE);
      room.powerLevels({ users: room.rules.explicitlyPrivilegeRoomCreators ? { [MOD]: 50 } : { [ALICE]: 100, [MOD]: 50 }, ban: 60, kick: 10 });
    },
    event: member(MOD, CAROL, 'leave'),
    expected: outcomesFrom({ all: 'member.leave.unban_power' }),
  },
  { name: 'a moderator kicks a user with less power', event: member(MOD, BOB, 'leave'), expected: outcomesFrom({ all: 'allow' }) },
  { name: 'a user without the kick level kicks', event: member(BOB, MOD, 'leave'), expected: outcomesFrom({ all: 'member.leave.kick_power' }) },
  {
    name: 'kicking a user with equal power',
    setup: (room) => room.powerLevels({ users: room.rules.explicitlyPrivilegeRoomCreators ? { [MOD]: 50, [BOB]: 50 } : { [ALICE]: 100, [MOD]: 50, [BOB]: 50 } }),
    event: member(MOD, BOB, 'leave'),
    expected: outcomesFrom({ all: 'member.leave.kick_power' }),
  },
  // Bans
  { name: 'a moderator bans a user with less power', event: member(MOD, CAROL, 'ban'), expected: outcomesFrom({ all: 'allow' }) },
  { name: 'a non-member bans', event: member(CAROL, BOB, 'ban'), expected: outcomesFrom({ all: 'member.ban.sender_not_joined' }) },
  { name: 'a user without the ban level bans', event: member(BOB, CAROL, 'ban'), expected: outcomesFrom({ all: 'member.ban.power' }) },
  {
    name: 'the top non-creator admin bans the creator (creators are above everyone from v12)',
    setup: (room) => room.powerLevels({ users: room.rules.explicitlyPrivilegeRoomCreators ? { [MOD]: 100 } : { [ALICE]: 100, [MOD]: 100 } }),
    event: member(MOD, ALICE, 'ban'),
    expected: outcomesFrom({ all: 'member.ban.power' }),
  },
  {
    name: 'the creator bans an admin at 100',
    setup: (room) => room.powerLevels({ users: room.rules.explicitlyPrivilegeRoomCreators ? { [MOD]: 100 } : { [ALICE]: 100, [MOD]: 100 } }),
    event: member(ALICE, MOD, 'ban'),
    expected: outcomesFrom({ all: 'member.ban.power', v12: 'allow' }),
  },
  // Knocks
  { name: 'knocking on a knock room (from v7)', room: { joinRule: 'knock' }, event: member(CAROL, CAROL, 'knock'), expected: outcomesFrom({ all: 'member.unknown', v7: 'allow' }) },
  { name: 'knocking on an invite-only room', event: member(CAROL, CAROL, 'knock'), expected: outcomesFrom({ all: 'member.unknown', v7: 'member.knock.join_rule' }) },
  { name: 'knocking for someone else', room: { joinRule: 'knock' }, event: member(BOB, CAROL, 'knock'), expected: outcomesFrom({ all: 'member.unknown', v7: 'member.knock.other_user' }) },
  {
    name: 'knocking while invited',
    room: { joinRule: 'knock' },
    setup: (room) => room.member(CAROL, 'invite', ALICE),
    event: member(CAROL, CAROL, 'knock'),
    expected: outcomesFrom({ all: 'member.unknown', v7: 'member.knock.membership' }),
  },
  {
    name: 'knocking on a knock_restricted room (from v10)',
    room: { joinRule: 'knock_restricted' },
    event: member(CAROL, CAROL, 'knock'),
    expected: outcomesFrom({ all: 'member.unknown', v7: 'member.knock.join_rule', v10: 'allow' }),
  },
  { name: 'an unknown membership', event: member(BOB, BOB, 'dance'), expected: outcomesFrom({ all: 'member.unknown' }) },
  // Everything else
  { name: 'a joined user sends a message', event: message(BOB), expected: outcomesFrom({ all: 'allow' }) },
  { name: 'a non-member sends a message', event: message(CAROL), expected: outcomesFrom({ all: 'sender.not_joined' }) },
  {
    name: 'm.room.third_party_invite at the invite level',
    event: state(BOB, 'm.room.third_party_invite', 'token1', { display_name: 'c***@example.org', public_key: 'x' }),
    expected: outcomesFrom({ all: 'allow' }),
  },
  {
    name: 'm.room.third_party_invite below the invite level',
    setup: (room) => room.powerLevels({ users: room.rules.explicitlyPrivilegeRoomCreators ? {} : { [ALICE]: 100 }, invite: 10 }),
    event: state(BOB, 'm.room.third_party_invite', 'token1', { display_name: 'c***@example.org', public_key: 'x' }),
    expected: outcomesFrom({ all: 'third_party_invite.power' }),
  },
  { name: 'a state event below state_default', event: state(BOB, 'm.room.topic', '', { topic: 't' }), expected: outcomesFrom({ all: 'power.required' }) },
  { name: 'a state event at state_default', event: state(MOD, 'm.room.topic', '', { topic: 't' }), expected: outcomesFrom({ all: 'allow' }) },
  {
    name: 'a message below an events level',
    setup: (room) => room.powerLevels({ users: room.rules.explicitlyPrivilegeRoomCreators ? {} : { [ALICE]: 100 }, events: { 'm.room.message': 10 } }),
    event: message(BOB),
    expected: outcomesFrom({ all: 'power.required' }),
  },
  { name: 'a state key naming another user', event: state(MOD, 'm.custom', BOB), expected: outcomesFrom({ all: 'state_key.user_id' }) },
  { name: 'a state key naming the sender', event: state(MOD, 'm.custom', MOD), expected: outcomesFrom({ all: 'allow' }) },
  // Rule 11 of v1-2: m.room.redaction
  {
    name: 'a redaction of an event from another server, below the redact level (the v1-2 rule)',
    event: () => ({ type: 'm.room.redaction', sender: BOB, redacts: '$x:other.example', content: {} }),
    expected: outcomesFrom({ all: 'redaction.power', v3: 'allow' }),
  },
  {
    name: 'a redaction of an event from the redaction\'s own server, below the redact level',
    event: () => ({ type: 'm.room.redaction', sender: BOB, redacts: '$x:example.org', content: {} }),
    expected: outcomesFrom({ all: 'allow' }),
  },
  {
    name: 'a redaction at the redact level',
    event: () => ({ type: 'm.room.redaction', sender: MOD, redacts: '$x:other.example', content: {} }),
    expected: outcomesFrom({ all: 'allow' }),
  },
];

describe('checkEventAuth: the authorization rules under every rule set', () => {
  describe.each(ROWS)('$name', (row) => {
    it.each(VERSION_NAMES)('%s', (version) => {
      const room = new RoomFixture(version, row.room);
      row.setup?.(room);
      expect(outcome(room.check(row.event(room)))).toBe(row.expected[version]);
    });
  });
});

describe('room version 12: the create event is never cited, and stands for the room ID', () => {
  it('needs the create event in the auth state', () => {
    const room = new RoomFixture('v12');
    room.state.clear();
    expect(outcome(room.check(message(BOB)()))).toBe('room_id.create_event');
  });
  it('derives the room ID from the create event ID', () => {
    const room = new RoomFixture('v12');
    expect(room.roomId).toBe('!' + V12_CREATE_ID.slice(1));
    expect(room.create.room_id).toBeUndefined();
  });
  it('before v12, an auth state without a create event is refused', () => {
    const room = new RoomFixture('v11');
    room.state.clear();
    expect(outcome(room.check(message(BOB)()))).toBe('auth_events.no_create');
  });
});

describe('join rules', () => {
  it('say what a user without an invite may do, per rule set', () => {
    const access = (rule: string, version: VersionName) => getJoinRuleAccess(rule, new RoomFixture(version).rules);
    expect(access('public', 'v1')).toEqual({ join: true, joinIfAllowed: false, knock: false });
    expect(access('knock', 'v6')).toEqual({ join: false, joinIfAllowed: false, knock: false });
    expect(access('knock', 'v7')).toEqual({ join: false, joinIfAllowed: false, knock: true });
    expect(access('restricted', 'v7')).toEqual({ join: false, joinIfAllowed: false, knock: false });
    expect(access('restricted', 'v8')).toEqual({ join: false, joinIfAllowed: true, knock: false });
    expect(access('knock_restricted', 'v8')).toEqual({ join: false, joinIfAllowed: false, knock: false });
    expect(access('knock_restricted', 'v10')).toEqual({ join: false, joinIfAllowed: true, knock: true });
    expect(access('invite', 'v12')).toEqual({ join: false, joinIfAllowed: false, knock: false });
  });

  it('list the rooms a restricted room admits, ignoring malformed entries', () => {
    expect(
      getRestrictedJoinAllowedRooms({
        join_rule: 'restricted',
        allow: [
          { type: 'm.room_membership', room: '!a:example.org', via: ['example.org'] },
          { type: 'm.room_membership', room: 'not a room' },
          { type: 'm.other', room: '!b:example.org' },
          'junk',
          { type: 'm.room_membership', room: '!a:example.org' },
          { type: 'm.room_membership', room: '!' + 'A'.repeat(43) },
        ],
      }),
    ).toEqual(['!a:example.org', '!' + 'A'.repeat(43)]);
    expect(getRestrictedJoinAllowedRooms({ join_rule: 'restricted' })).toEqual([]);
    expect(getRestrictedJoinAllowedRooms({ join_rule: 'restricted', allow: {} })).toEqual([]);
  });

  it('default to invite when the room has no join rules event', () => {
    const room = new RoomFixture('v10');
    room.state.delete(formatStateKey('m.room.join_rules', ''));
    expect(getJoinRule(authStateFromMap(room.state))).toBe('invite');
    room.member(CAROL, 'invite', ALICE);
    expect(outcome(room.check(member(CAROL, CAROL, 'join')()))).toBe('allow');
  });
});

describe('checkEventAuth on arbitrary input', () => {
  it('returns a result, never throws', () => {
    const rooms = VERSION_NAMES.map((version) => new RoomFixture(version));
    fc.assert(
      fc.property(
        fc.constantFrom('m.room.create', 'm.room.member', 'm.room.power_levels', 'm.room.join_rules', 'm.room.aliases', 'm.room.redaction', 'm.room.third_party_invite', 'x'),
        fc.option(fc.constantFrom('', ALICE, BOB, CAROL, 'example.org', '@'), { nil: undefined }),
        fc.constantFrom(ALICE, BOB, CAROL, EVE, 'not-a-user'),
        fc.dictionary(
          fc.constantFrom('membership', 'users', 'ban', 'events', 'notifications', 'third_party_invite', 'join_authorised_via_users_server', 'creator', 'room_version', 'additional_creators'),
          fc.oneof(fc.jsonValue(), fc.constantFrom('join', 'invite', 'leave', 'ban', 'knock')),
        ),
        (type, stateKey, sender, content) => {
          for (const room of rooms) {
            const event = room.event({ type, sender, ...(stateKey === undefined ? {} : { state_key: stateKey }), content: content as JsonObject });
            expect(typeof room.check(event).ok).toBe('boolean');
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
