import type { JsonObject } from '@axon/matrix-canonical-json';
import type { AuthEvent } from './auth-event';
import { checkAuthEventsList, selectAuthEventKeys } from './auth-events-selection';
import { AUTHORIZATION_V12, AUTHORIZATION_V7, AUTHORIZATION_V8 } from './authorization-rules';
import { formatStateKey } from './state-key';
import { ALICE, BOB, CAROL } from './testing/room-fixture';

const key = formatStateKey;

describe('selectAuthEventKeys (server-server API, "Auth events selection")', () => {
  const rows: Array<[string, { type: string; state_key?: string; sender: string; content: JsonObject }, typeof AUTHORIZATION_V8, string[][]]> = [
    ['m.room.create cites nothing', { type: 'm.room.create', state_key: '', sender: ALICE, content: {} }, AUTHORIZATION_V8, []],
    [
      'a message: create, power levels, the sender\'s membership',
      { type: 'm.room.message', sender: BOB, content: {} },
      AUTHORIZATION_V8,
      [['m.room.create', ''], ['m.room.power_levels', ''], ['m.room.member', BOB]],
    ],
    ['from v12 never the create event', { type: 'm.room.message', sender: BOB, content: {} }, AUTHORIZATION_V12, [['m.room.power_levels', ''], ['m.room.member', BOB]]],
    [
      'a join: also the target and the join rules',
      { type: 'm.room.member', state_key: BOB, sender: BOB, content: { membership: 'join' } },
      AUTHORIZATION_V8,
      [['m.room.create', ''], ['m.room.power_levels', ''], ['m.room.member', BOB], ['m.room.join_rules', '']],
    ],
    [
      'an invite from a third-party invite: the m.room.third_party_invite of its token',
      { type: 'm.room.member', state_key: CAROL, sender: BOB, content: { membership: 'invite', third_party_invite: { signed: { token: 'tok' } } } },
      AUTHORIZATION_V8,
      [['m.room.create', ''], ['m.room.power_levels', ''], ['m.room.member', BOB], ['m.room.member', CAROL], ['m.room.join_rules', ''], ['m.room.third_party_invite', 'tok']],
    ],
    [
      'a leave (kick): the target, no join rules',
      { type: 'm.room.member', state_key: CAROL, sender: BOB, content: { membership: 'leave' } },
      AUTHORIZATION_V8,
      [['m.room.create', ''], ['m.room.power_levels', ''], ['m.room.member', BOB], ['m.room.member', CAROL]],
    ],
    [
      'a restricted join (from v8): the authorising user\'s membership',
      { type: 'm.room.member', state_key: CAROL, sender: CAROL, content: { membership: 'join', join_authorised_via_users_server: ALICE } },
      AUTHORIZATION_V8,
      [['m.room.create', ''], ['m.room.power_levels', ''], ['m.room.member', CAROL], ['m.room.join_rules', ''], ['m.room.member', ALICE]],
    ],
    [
      'before v8, join_authorised_via_users_server selects nothing',
      { type: 'm.room.member', state_key: CAROL, sender: CAROL, content: { membership: 'join', join_authorised_via_users_server: ALICE } },
      AUTHORIZATION_V7,
      [['m.room.create', ''], ['m.room.power_levels', ''], ['m.room.member', CAROL], ['m.room.join_rules', '']],
    ],
  ];
  it.each(rows)('%s', (_name, event, rules, expected) => {
    expect(selectAuthEventKeys(event, rules)).toEqual(expected.map(([type, stateKey]) => key(type!, stateKey!)));
  });
});

describe('checkAuthEventsList: the checks on an event\'s own auth_events', () => {
  let counter = 0;
  const ev = (type: string, stateKey: string, extra: Partial<AuthEvent> = {}): AuthEvent => ({
    event_id: `$${++counter}`,
    room_id: '!r:example.org',
    type,
    state_key: stateKey,
    sender: ALICE,
    content: {},
    origin_server_ts: counter,
    depth: counter,
    auth_events: [],
    prev_events: [],
    ...extra,
  });
  const messageEvent: AuthEvent = (({ state_key: _stateKey, ...rest }) => ({ ...rest, sender: BOB }))(ev('m.room.message', ''));
  const create = ev('m.room.create', '');
  const powerLevels = ev('m.room.power_levels', '');
  const bob = ev('m.room.member', BOB, { content: { membership: 'join' } });
  const never = (): boolean => false;

  it('accepts the selected events', () => {
    expect(checkAuthEventsList(messageEvent, [create, powerLevels, bob], AUTHORIZATION_V8, never).ok).toBe(true);
  });
  it('refuses two entries for one (type, state_key)', () => {
    expect(checkAuthEventsList(messageEvent, [create, powerLevels, ev('m.room.power_levels', '')], AUTHORIZATION_V8, never)).toMatchObject({ ok: false, error: { rule: 'auth_events.duplicate' } });
  });
  it('refuses an entry the selection does not ask for', () => {
    expect(checkAuthEventsList(messageEvent, [create, ev('m.room.topic', '')], AUTHORIZATION_V8, never)).toMatchObject({ ok: false, error: { rule: 'auth_events.unexpected' } });
    expect(checkAuthEventsList(messageEvent, [create, ev('m.room.member', CAROL)], AUTHORIZATION_V8, never)).toMatchObject({ ok: false, error: { rule: 'auth_events.unexpected' } });
  });
  it('refuses a rejected entry', () => {
    expect(checkAuthEventsList(messageEvent, [create, powerLevels], AUTHORIZATION_V8, (id) => id === powerLevels.event_id)).toMatchObject({ ok: false, error: { rule: 'auth_events.rejected' } });
  });
  it('refuses a list without m.room.create before v12, and one with it from v12', () => {
    expect(checkAuthEventsList(messageEvent, [powerLevels, bob], AUTHORIZATION_V8, never)).toMatchObject({ ok: false, error: { rule: 'auth_events.no_create' } });
    expect(checkAuthEventsList(messageEvent, [powerLevels, bob], AUTHORIZATION_V12, never).ok).toBe(true);
    expect(checkAuthEventsList(messageEvent, [create, powerLevels], AUTHORIZATION_V12, never)).toMatchObject({ ok: false, error: { rule: 'auth_events.unexpected' } });
  });
  it('refuses an entry from another room', () => {
    expect(checkAuthEventsList(messageEvent, [create, ev('m.room.power_levels', '', { room_id: '!other:example.org' })], AUTHORIZATION_V8, never)).toMatchObject({
      ok: false,
      error: { rule: 'auth_events.other_room' },
    });
  });
  it('refuses a non-state entry', () => {
    expect(checkAuthEventsList(messageEvent, [create, messageEvent], AUTHORIZATION_V8, never)).toMatchObject({ ok: false, error: { rule: 'auth_events.unexpected' } });
  });
});
