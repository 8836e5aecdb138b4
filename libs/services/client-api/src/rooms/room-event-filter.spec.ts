import type { RoomEvent } from '@axon/contracts-grpc';
import { filterAllows, parseRoomEventFilter } from './room-event-filter';

function event(type: string, sender: string, content: Record<string, unknown> = {}): RoomEvent {
  return { eventId: '$e', roomId: '!r:x', pduJson: JSON.stringify({ type, sender, content }), streamOrdering: '1', redactedBy: '', roomVersion: '11' };
}

describe('RoomEventFilter (spec: Filtering)', () => {
  const message = event('m.room.message', '@a:x', { body: 'hi' });
  const image = event('m.room.message', '@b:x', { body: 'pic', url: 'mxc://x/y' });
  const custom = event('org.example.thing', '@a:x');

  it.each([
    [{}, [true, true, true]],
    [{ types: ['m.room.message'] }, [true, true, false]],
    [{ types: ['org.*'] }, [false, false, true]],
    [{ types: ['*'], not_types: ['m.room.*'] }, [false, false, true]],
    [{ types: ['m.room.message'], not_types: ['m.room.message'] }, [false, false, false]],
    [{ senders: ['@b:x'] }, [false, true, false]],
    [{ senders: ['@a:x', '@b:x'], not_senders: ['@a:x'] }, [false, true, false]],
    [{ contains_url: true }, [false, true, false]],
    [{ contains_url: false }, [true, false, true]],
  ])('%j lets through %j', (raw, expected) => {
    const filter = parseRoomEventFilter(raw);
    expect([message, image, custom].map((e) => filterAllows(filter, e))).toEqual(expected);
  });

  it('refuses malformed filters', () => {
    expect(() => parseRoomEventFilter([])).toThrow(expect.objectContaining({ errcode: 'M_BAD_JSON' }));
    expect(() => parseRoomEventFilter({ types: 'm.room.message' })).toThrow(expect.objectContaining({ errcode: 'M_BAD_JSON' }));
    expect(() => parseRoomEventFilter({ lazy_load_members: 'yes' })).toThrow(expect.objectContaining({ errcode: 'M_BAD_JSON' }));
    expect(() => parseRoomEventFilter({ limit: 0 })).toThrow(expect.objectContaining({ errcode: 'M_INVALID_PARAM' }));
  });
});
