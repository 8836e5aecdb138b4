import type { JsonObject, JsonValue } from '@axon/matrix-canonical-json';
import { authStateFromEvents } from './auth-event';
import { AUTHORIZATION_V10, AUTHORIZATION_V11, AUTHORIZATION_V12, AUTHORIZATION_V3, AUTHORIZATION_V6 } from './authorization-rules';
import { getEventPowerLevel, getNotificationPowerLevel, getUserPowerLevel, parsePowerLevelValue } from './power-levels';
import { ALICE, BOB, CAROL, MOD, outcome, outcomesFrom, RoomFixture, VERSION_NAMES, type VersionName } from './testing/room-fixture';

describe('parsePowerLevelValue', () => {
  // Room versions 1-9 accept integers as strings ("v1-stringy-power-levels"); 1-5 also
  // floats, truncated ("v1-floaty-power-levels"); from v10 only integers count.
  const rows: Array<[string, JsonValue, number | undefined, number | undefined, number | undefined]> = [
    // value, v3 (floats+strings), v6 (strings), v10 (integers only)
    ['an integer', 50, 50, 50, 50],
    ['a negative integer', -10, -10, -10, -10],
    ['"100"', '100', 100, 100, undefined],
    ['leading zeroes "000100"', '000100', 100, 100, undefined],
    ['a sign "+100"', '+100', 100, 100, undefined],
    ['"-100"', '-100', -100, -100, undefined],
    ['whitespace " +100 "', ' +100 ', 100, 100, undefined],
    ['a decimal string "50.5"', '50.5', undefined, undefined, undefined],
    ['two signs "+-1"', '+-1', undefined, undefined, undefined],
    ['an empty string', '', undefined, undefined, undefined],
    // Floats reach this function only in rooms 1-5: from v6 strict canonical JSON refuses
    // them when the event is parsed, so the v6 column is never exercised by real events.
    ['a float 50.57, truncated', 50.57, 50, 50, undefined],
    ['exponent notation 5.114698E4', 5.114698e4, 51146, 51146, undefined],
    ['a negative float -0.5', -0.5, 0, 0, undefined],
    ['Infinity', Number.POSITIVE_INFINITY, undefined, undefined, undefined],
    ['NaN', Number.NaN, undefined, undefined, undefined],
    ['a boolean', true, undefined, undefined, undefined],
    ['null', null, undefined, undefined, undefined],
    ['an object', {}, undefined, undefined, undefined],
  ];
  it.each(rows)('%s', (_name, value, v3, v6, v10) => {
    expect(parsePowerLevelValue(value, AUTHORIZATION_V3)).toBe(v3);
    expect(parsePowerLevelValue(value, AUTHORIZATION_V6)).toBe(v6);
    expect(parsePowerLevelValue(value, AUTHORIZATION_V10)).toBe(v10);
  });
});

describe('user and event power levels', () => {
  const create = (content: JsonObject, sender = ALICE) => ({
    event_id: '$c',
    room_id: '!r:example.org',
    type: 'm.room.create',
    state_key: '',
    sender,
    content,
    origin_server_ts: 0,
    depth: 1,
    auth_events: [],
    prev_events: [],
  });
  const powerLevels = (content: JsonObject) => ({ ...create(content), event_id: '$p', type: 'm.room.power_levels' });

  it('without power levels: the creator 100 and everyone else 0 (v1-11); creators infinite from v12', () => {
    const v10 = authStateFromEvents([create({ creator: BOB }, ALICE)]);
    expect(getUserPowerLevel(BOB, v10, AUTHORIZATION_V10)).toBe(100);
    expect(getUserPowerLevel(ALICE, v10, AUTHORIZATION_V10)).toBe(0);
    expect(getUserPowerLevel(ALICE, v10, AUTHORIZATION_V11)).toBe(100);
    const v12 = authStateFromEvents([create({ additional_creators: [CAROL] }, ALICE)]);
    expect(getUserPowerLevel(ALICE, v12, AUTHORIZATION_V12)).toBe(Number.POSITIVE_INFINITY);
    expect(getUserPowerLevel(CAROL, v12, AUTHORIZATION_V12)).toBe(Number.POSITIVE_INFINITY);
    expect(getUserPowerLevel(BOB, v12, AUTHORIZATION_V12)).toBe(0);
  });

  it('with power levels: users, else users_default; creators stay infinite in v12', () => {
    const state = authStateFromEvents([create({ creator: ALICE }), powerLevels({ users: { [BOB]: 40, [ALICE]: 10 }, users_default: 5 })]);
    expect(getUserPowerLevel(BOB, state, AUTHORIZATION_V10)).toBe(40);
    expect(getUserPowerLevel(CAROL, state, AUTHORIZATION_V10)).toBe(5);
    expect(getUserPowerLevel(ALICE, state, AUTHORIZATION_V11)).toBe(10);
    expect(getUserPowerLevel(ALICE, state, AUTHORIZATION_V12)).toBe(Number.POSITIVE_INFINITY);
  });

  it('required levels: events[type], else state_default (50) or events_default (0)', () => {
    const none = authStateFromEvents([create({ creator: ALICE })]);
    expect(getEventPowerLevel('m.room.topic', '', none, AUTHORIZATION_V10)).toBe(50);
    expect(getEventPowerLevel('m.room.message', undefined, none, AUTHORIZATION_V10)).toBe(0);
    const set = authStateFromEvents([create({ creator: ALICE }), powerLevels({ events: { 'm.room.topic': 10 }, state_default: 20, events_default: 30 })]);
    expect(getEventPowerLevel('m.room.topic', '', set, AUTHORIZATION_V10)).toBe(10);
    expect(getEventPowerLevel('m.room.name', '', set, AUTHORIZATION_V10)).toBe(20);
    expect(getEventPowerLevel('m.room.message', undefined, set, AUTHORIZATION_V10)).toBe(30);
  });

  it('notification levels: notifications[key], room defaults to 50', () => {
    const state = authStateFromEvents([create({ creator: ALICE }), powerLevels({ notifications: { custom: 7 } })]);
    expect(getNotificationPowerLevel('room', state, AUTHORIZATION_V10)).toBe(50);
    expect(getNotificationPowerLevel('custom', state, AUTHORIZATION_V10)).toBe(7);
    expect(getNotificationPowerLevel('other', state, AUTHORIZATION_V10)).toBeUndefined();
  });
});

// Rule 10 (9 in v6-v11): changes to m.room.power_levels, sent by Mod (50) unless noted.
// In the fixture Alice is 100 (infinite, a creator, in v12) and Mod 50.
const users = (room: RoomFixture, extra: JsonObject = {}): JsonObject =>
  room.rules.explicitlyPrivilegeRoomCreators ? { [MOD]: 50, ...extra } : { [ALICE]: 100, [MOD]: 50, ...extra };

interface Row {
  readonly name: string;
  readonly sender?: string;
  readonly before?: (room: RoomFixture) => JsonObject | null;
  readonly content: (room: RoomFixture) => JsonObject;
  readonly expected: Record<VersionName, string>;
}

const ROWS: Row[] = [
  { name: 'the first power levels event', before: () => null, sender: ALICE, content: () => ({ users: { [BOB]: 100 } }), expected: outcomesFrom({ all: 'allow' }) },
  { name: 'an unchanged copy', content: (room) => ({ users: users(room) }), expected: outcomesFrom({ all: 'allow' }) },
  { name: 'a named level as a string', content: (room) => ({ users: users(room), ban: '50' }), expected: outcomesFrom({ all: 'allow', v10: 'power_levels.not_integer' }) },
  { name: 'a named level that is not a number', content: (room) => ({ users: users(room), kick: 'lots' }), expected: outcomesFrom({ all: 'power_levels.not_integer' }) },
  { name: 'events with a string value', content: (room) => ({ users: users(room), events: { 'm.room.name': '10' } }), expected: outcomesFrom({ all: 'allow', v10: 'power_levels.not_integer' }) },
  { name: 'notifications not an object', content: (room) => ({ users: users(room), notifications: 5 }), expected: outcomesFrom({ all: 'allow', v10: 'power_levels.not_integer' }) },
  { name: 'users not an object', content: () => ({ users: [] }), expected: outcomesFrom({ all: 'power_levels.users' }) },
  { name: 'users keyed by a non-user ID', content: (room) => ({ users: users(room, { bob: 0 }) }), expected: outcomesFrom({ all: 'power_levels.users' }) },
  { name: 'a user level as a string', content: (room) => ({ users: users(room, { [BOB]: '10' }) }), expected: outcomesFrom({ all: 'allow', v10: 'power_levels.users' }) },
  {
    name: 'listing a room creator in users (refused from v12)',
    sender: ALICE,
    content: () => ({ users: { [ALICE]: 100, [MOD]: 50 } }),
    expected: outcomesFrom({ all: 'allow', v12: 'power_levels.creator_listed' }),
  },
  { name: 'raising ban to the sender\'s level', content: (room) => ({ users: users(room), ban: 50 }), expected: outcomesFrom({ all: 'allow' }) },
  { name: 'raising ban above the sender\'s level', content: (room) => ({ users: users(room), ban: 60 }), expected: outcomesFrom({ all: 'power_levels.change_new' }) },
  {
    name: 'lowering a named level that is above the sender',
    before: (room) => ({ users: users(room), ban: 60 }),
    content: (room) => ({ users: users(room), ban: 40 }),
    expected: outcomesFrom({ all: 'power_levels.change_old' }),
  },
  { name: 'adding an event level above the sender', content: (room) => ({ users: users(room), events: { 'm.room.name': 70 } }), expected: outcomesFrom({ all: 'power_levels.change_new' }) },
  {
    name: 'removing an event level above the sender',
    before: (room) => ({ users: users(room), events: { 'm.room.name': 70 } }),
    content: (room) => ({ users: users(room) }),
    expected: outcomesFrom({ all: 'power_levels.change_old' }),
  },
  {
    name: 'adding a notification level above the sender (checked from v6)',
    content: (room) => ({ users: users(room), notifications: { room: 70 } }),
    expected: outcomesFrom({ all: 'allow', v6: 'power_levels.change_new' }),
  },
  {
    name: 'removing a notification level above the sender (checked from v6)',
    before: (room) => ({ users: users(room), notifications: { room: 70 } }),
    content: (room) => ({ users: users(room) }),
    expected: outcomesFrom({ all: 'allow', v6: 'power_levels.change_old' }),
  },
  { name: 'promoting a user to the sender\'s level', content: (room) => ({ users: users(room, { [BOB]: 50 }) }), expected: outcomesFrom({ all: 'allow' }) },
  { name: 'promoting a user above the sender', content: (room) => ({ users: users(room, { [BOB]: 51 }) }), expected: outcomesFrom({ all: 'power_levels.change_new' }) },
  {
    name: 'demoting a user at the sender\'s level',
    before: (room) => ({ users: users(room, { [BOB]: 50 }) }),
    content: (room) => ({ users: users(room, { [BOB]: 0 }) }),
    expected: outcomesFrom({ all: 'power_levels.change_old' }),
  },
  {
    name: 'demoting a user below the sender',
    before: (room) => ({ users: users(room, { [BOB]: 40 }) }),
    content: (room) => ({ users: users(room, { [BOB]: 0 }) }),
    expected: outcomesFrom({ all: 'allow' }),
  },
  { name: 'the sender demoting themselves', content: (room) => ({ users: users(room, { [MOD]: 10 }) }), expected: outcomesFrom({ all: 'allow' }) },
  {
    name: 'an admin at 100 demoting another admin at 100',
    sender: BOB,
    before: (room) => ({ users: users(room, { [BOB]: 100, [CAROL]: 100 }) }),
    content: (room) => ({ users: users(room, { [BOB]: 100, [CAROL]: 0 }) }),
    expected: outcomesFrom({ all: 'power_levels.change_old' }),
  },
  {
    name: 'the creator demoting an admin at 100 (creators outrank everyone from v12)',
    sender: ALICE,
    before: (room) => ({ users: users(room, { [BOB]: 100 }) }),
    content: (room) => ({ users: users(room, { [BOB]: 0 }) }),
    expected: outcomesFrom({ all: 'power_levels.change_old', v12: 'allow' }),
  },
];

describe('checkEventAuth: m.room.power_levels changes under every rule set', () => {
  describe.each(ROWS)('$name', (row) => {
    it.each(VERSION_NAMES)('%s', (version) => {
      const room = new RoomFixture(version, { powerLevels: null });
      const before = row.before === undefined ? { users: users(room) } : row.before(room);
      if (before !== null) room.powerLevels(before);
      room.member(CAROL, 'join', CAROL);
      const event = room.event({ type: 'm.room.power_levels', sender: row.sender ?? MOD, state_key: '', content: row.content(room) });
      expect(outcome(room.check(event))).toBe(row.expected[version]);
    });
  });
});
