import { parseFilter, parseRoomEventFilter } from './filter';
import { eventFilterAllows, roomAllowed, roomEventFilterAllows } from './filter-match';

const ROOM = '!r:x';
const message = { type: 'm.room.message', sender: '@a:x', room_id: ROOM, content: { body: 'hi' } };
const image = { type: 'm.room.message', sender: '@b:x', room_id: ROOM, content: { body: 'pic', url: 'mxc://x/y' } };
const custom = { type: 'org.example.thing', sender: '@a:x', room_id: '!other:x', content: {} };

describe('roomEventFilterAllows (spec: RoomEventFilter)', () => {
  it.each([
    [{}, [true, true, true]],
    [{ types: ['m.room.message'] }, [true, true, false]],
    [{ types: ['org.*'] }, [false, false, true]],
    [{ types: ['*'] }, [true, true, true]],
    [{ types: ['m.*.message'] }, [true, true, false]],
    [{ types: ['*thing'] }, [false, false, true]],
    [{ types: ['m.room'] }, [false, false, false]],
    [{ types: [] }, [false, false, false]],
    [{ types: ['*'], not_types: ['m.room.*'] }, [false, false, true]],
    [{ types: ['m.room.message'], not_types: ['m.room.message'] }, [false, false, false]],
    [{ not_types: ['*'] }, [false, false, false]],
    [{ senders: ['@b:x'] }, [false, true, false]],
    [{ senders: ['@a:x', '@b:x'], not_senders: ['@a:x'] }, [false, true, false]],
    [{ rooms: [ROOM] }, [true, true, false]],
    [{ rooms: [ROOM, '!other:x'], not_rooms: ['!other:x'] }, [true, true, false]],
    [{ not_rooms: [ROOM] }, [false, false, true]],
    [{ contains_url: true }, [false, true, false]],
    [{ contains_url: false }, [true, false, true]],
  ])('%j lets through %j', (raw, expected) => {
    const filter = parseRoomEventFilter(raw);
    expect([message, image, custom].map((event) => roomEventFilterAllows(filter, event))).toEqual(expected);
  });

  it('treats a `.` in a type pattern literally, only `*` is a wildcard', () => {
    const filter = parseRoomEventFilter({ types: ['m.room.*'] });
    expect(roomEventFilterAllows(filter, { ...message, type: 'mxroom.message' })).toBe(false);
    expect(roomEventFilterAllows(filter, { ...message, type: 'm.room.' })).toBe(true);
  });

  it('contains_url counts only a string url, and events without content', () => {
    const withUrl = parseRoomEventFilter({ contains_url: true });
    const withoutUrl = parseRoomEventFilter({ contains_url: false });
    const numericUrl = { ...message, content: { url: 42 } };
    const noContent = { type: 'm.room.message', sender: '@a:x', room_id: ROOM };
    expect([roomEventFilterAllows(withUrl, numericUrl), roomEventFilterAllows(withoutUrl, numericUrl)]).toEqual([false, true]);
    expect([roomEventFilterAllows(withUrl, noContent), roomEventFilterAllows(withoutUrl, noContent)]).toEqual([false, true]);
  });
});

describe('eventFilterAllows (spec: EventFilter)', () => {
  const presence = { type: 'm.presence', sender: '@alice:example.com' };
  it.each([
    [{}, true],
    [{ types: ['m.presence'] }, true],
    [{ types: ['m.*'] }, true],
    [{ types: ['m.presence'], not_types: ['m.*'] }, false],
    [{ not_senders: ['@alice:example.com'] }, false],
    [{ senders: ['@alice:example.com'], not_senders: ['@alice:example.com'] }, false],
    [{ senders: ['@bob:example.com'] }, false],
  ])('%j lets m.presence from alice through: %s', (raw, expected) => {
    expect(eventFilterAllows(parseFilter({ presence: raw }).presence, presence)).toBe(expected);
  });
});

describe('roomAllowed (spec: RoomFilter rooms, not_rooms)', () => {
  it.each([
    [{}, [true, true]],
    [{ rooms: ['!a:x'] }, [true, false]],
    [{ not_rooms: ['!a:x'] }, [false, true]],
    [{ rooms: ['!a:x', '!b:x'], not_rooms: ['!a:x'] }, [false, true]],
    [{ rooms: [] }, [false, false]],
  ])('%j allows [!a:x, !b:x]: %j', (room, expected) => {
    const filter = parseFilter({ room });
    expect(['!a:x', '!b:x'].map((roomId) => roomAllowed(filter.room, roomId))).toEqual(expected);
  });
});
