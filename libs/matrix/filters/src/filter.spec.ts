import { DEFAULT_FILTER, parseFilter, parseRoomEventFilter, type RoomEventFilter } from './filter';

/** The example of `POST /user/{userId}/filter` in the spec (Client-Server API v1.19). */
const SPEC_EXAMPLE = {
  room: {
    state: { types: ['m.room.*'], not_rooms: ['!726s6s6q:example.com'] },
    timeline: { limit: 10, types: ['m.room.message'], not_rooms: ['!726s6s6q:example.com'], not_senders: ['@spam:example.com'] },
    ephemeral: { types: ['m.receipt', 'm.typing'], not_rooms: ['!726s6s6q:example.com'], not_senders: ['@spam:example.com'] },
  },
  presence: { types: ['m.presence'], not_senders: ['@alice:example.com'] },
  event_format: 'client',
  event_fields: ['type', 'content', 'sender'],
};

const EMPTY_ROOM_EVENT_FILTER: RoomEventFilter = {
  limit: undefined,
  types: undefined,
  notTypes: [],
  senders: undefined,
  notSenders: [],
  rooms: undefined,
  notRooms: [],
  containsUrl: undefined,
  lazyLoadMembers: false,
  includeRedundantMembers: false,
  unreadThreadNotifications: false,
};

describe('parseFilter (spec: Filtering)', () => {
  it('normalises the spec example', () => {
    const filter = parseFilter(SPEC_EXAMPLE);
    expect(filter.eventFields).toEqual(['type', 'content', 'sender']);
    expect(filter.eventFormat).toBe('client');
    expect(filter.presence).toEqual({ limit: undefined, types: ['m.presence'], notTypes: [], senders: undefined, notSenders: ['@alice:example.com'] });
    expect(filter.room.timeline).toEqual({ ...EMPTY_ROOM_EVENT_FILTER, limit: 10, types: ['m.room.message'], notRooms: ['!726s6s6q:example.com'], notSenders: ['@spam:example.com'] });
    expect(filter.room.state).toEqual({ ...EMPTY_ROOM_EVENT_FILTER, types: ['m.room.*'], notRooms: ['!726s6s6q:example.com'] });
    expect(filter.room.ephemeral.types).toEqual(['m.receipt', 'm.typing']);
    expect(filter.room.accountData).toEqual(EMPTY_ROOM_EVENT_FILTER);
    expect(filter.room.includeLeave).toBe(false);
  });

  it('applies the spec defaults to an empty filter: DEFAULT_FILTER', () => {
    expect(parseFilter({})).toEqual(DEFAULT_FILTER);
    expect(DEFAULT_FILTER).toEqual({
      eventFields: undefined,
      eventFormat: 'client',
      presence: { limit: undefined, types: undefined, notTypes: [], senders: undefined, notSenders: [] },
      accountData: { limit: undefined, types: undefined, notTypes: [], senders: undefined, notSenders: [] },
      room: {
        rooms: undefined,
        notRooms: [],
        includeLeave: false,
        ephemeral: EMPTY_ROOM_EVENT_FILTER,
        state: EMPTY_ROOM_EVENT_FILTER,
        timeline: EMPTY_ROOM_EVENT_FILTER,
        accountData: EMPTY_ROOM_EVENT_FILTER,
      },
    });
  });

  it('ignores unknown keys, as the spec allows extensions', () => {
    expect(parseFilter({ 'org.example.custom': 1, room: { 'org.example.flag': true } })).toEqual(DEFAULT_FILTER);
  });

  it('reads the top-level room lists, include_leave and federation format', () => {
    const filter = parseFilter({ event_format: 'federation', room: { rooms: ['!a:x', '!b:x'], not_rooms: ['!b:x'], include_leave: true } });
    expect(filter.eventFormat).toBe('federation');
    expect(filter.room).toMatchObject({ rooms: ['!a:x', '!b:x'], notRooms: ['!b:x'], includeLeave: true });
  });

  it('reads the lazy-loading and thread notification flags of each room section', () => {
    const filter = parseFilter({
      room: {
        state: { lazy_load_members: true, include_redundant_members: true },
        timeline: { lazy_load_members: true, unread_thread_notifications: true, contains_url: false },
      },
    });
    expect(filter.room.state).toMatchObject({ lazyLoadMembers: true, includeRedundantMembers: true, unreadThreadNotifications: false });
    expect(filter.room.timeline).toMatchObject({ lazyLoadMembers: true, includeRedundantMembers: false, unreadThreadNotifications: true, containsUrl: false });
  });

  it('copies lists instead of referencing the input', () => {
    const types = ['m.room.message'];
    const filter = parseFilter({ room: { timeline: { types } } });
    types.push('m.room.member');
    expect(filter.room.timeline.types).toEqual(['m.room.message']);
  });

  it.each([
    ['a non-object filter', [], 'M_BAD_JSON'],
    ['a null filter', null, 'M_BAD_JSON'],
    ['event_fields not strings', { event_fields: [1] }, 'M_BAD_JSON'],
    ['event_fields not a list', { event_fields: 'type' }, 'M_BAD_JSON'],
    ['event_format not a string', { event_format: 1 }, 'M_BAD_JSON'],
    ['an unknown event_format', { event_format: 'matrix' }, 'M_INVALID_PARAM'],
    ['room not an object', { room: 'all' }, 'M_BAD_JSON'],
    ['presence not an object', { presence: [] }, 'M_BAD_JSON'],
    ['room.timeline not an object', { room: { timeline: 10 } }, 'M_BAD_JSON'],
    ['a string limit', { room: { timeline: { limit: '10' } } }, 'M_BAD_JSON'],
    ['a fractional limit', { presence: { limit: 1.5 } }, 'M_BAD_JSON'],
    ['a zero limit', { room: { timeline: { limit: 0 } } }, 'M_INVALID_PARAM'],
    ['a negative limit', { account_data: { limit: -5 } }, 'M_INVALID_PARAM'],
    ['a room filter listing something that is not a room ID', { room: { rooms: ['not_a_room_id'] } }, 'M_INVALID_PARAM'],
    ['a timeline filter listing something that is not a room ID', { room: { timeline: { not_rooms: ['#alias:hs'] } } }, 'M_INVALID_PARAM'],
    ['senders that are not user IDs', { room: { timeline: { senders: ['not_a_sender_id'] } } }, 'M_INVALID_PARAM'],
    ['a sender pattern (senders are exact user IDs)', { presence: { not_senders: ['@alice:*'] } }, 'M_INVALID_PARAM'],
    ['rooms not a list', { room: { rooms: '!a:b' } }, 'M_BAD_JSON'],
    ['not_rooms of a section not strings', { room: { ephemeral: { not_rooms: [null] } } }, 'M_BAD_JSON'],
    ['a non-boolean include_leave', { room: { include_leave: 'yes' } }, 'M_BAD_JSON'],
    ['a non-boolean lazy_load_members', { room: { state: { lazy_load_members: 1 } } }, 'M_BAD_JSON'],
    ['a non-boolean contains_url', { room: { timeline: { contains_url: 'true' } } }, 'M_BAD_JSON'],
    ['a non-boolean unread_thread_notifications', { room: { timeline: { unread_thread_notifications: 0 } } }, 'M_BAD_JSON'],
    ['account_data types not a list', { account_data: { types: 'm.direct' } }, 'M_BAD_JSON'],
  ])('refuses %s with %s', (_name, filter, errcode) => {
    expect(() => parseFilter(filter)).toThrow(expect.objectContaining({ errcode, status: 400 }) as Error);
  });

  it('names the offending field in the error', () => {
    expect(() => parseFilter({ room: { timeline: { limit: 0 } } })).toThrow('filter.room.timeline.limit must be at least 1');
  });
});

describe('parseRoomEventFilter (an inline /messages filter)', () => {
  it('normalises with the same defaults as a section of a filter definition', () => {
    expect(parseRoomEventFilter({})).toEqual(EMPTY_ROOM_EVENT_FILTER);
    expect(parseRoomEventFilter({ limit: 5, senders: ['@a:x'], lazy_load_members: true })).toEqual({ ...EMPTY_ROOM_EVENT_FILTER, limit: 5, senders: ['@a:x'], lazyLoadMembers: true });
  });

  it('refuses malformed filters', () => {
    expect(() => parseRoomEventFilter([])).toThrow(expect.objectContaining({ errcode: 'M_BAD_JSON' }) as Error);
    expect(() => parseRoomEventFilter({ types: 'm.room.message' })).toThrow(expect.objectContaining({ errcode: 'M_BAD_JSON' }) as Error);
    expect(() => parseRoomEventFilter({ lazy_load_members: 'yes' })).toThrow(expect.objectContaining({ errcode: 'M_BAD_JSON' }) as Error);
    expect(() => parseRoomEventFilter({ limit: 0 })).toThrow(expect.objectContaining({ errcode: 'M_INVALID_PARAM' }) as Error);
  });
});
