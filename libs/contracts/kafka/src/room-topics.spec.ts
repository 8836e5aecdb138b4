import { decodeRoomInputOutcome, encodeRoomInputOutcome } from './room-topics';

describe('room input outcome wake-ups', () => {
  it('round-trips an accepted and a refused outcome', () => {
    const accepted = { ok: true, room_id: '!r:example.org', event_id: '$e' } as const;
    const refused = { ok: false, errcode: 'M_FORBIDDEN', error: 'not in the room' } as const;
    expect(decodeRoomInputOutcome(encodeRoomInputOutcome(accepted))).toEqual(accepted);
    expect(decodeRoomInputOutcome(encodeRoomInputOutcome(refused))).toEqual(refused);
  });

  it.each([['$bare-event-id'], ['M_FORBIDDEN'], ['null'], ['{"ok":true,"event_id":"$e"}'], ['{"ok":false,"errcode":"M_X"}'], ['[1]']])(
    'reads %s as no outcome (the waiter falls back to GetInputResult)',
    (payload) => {
      expect(decodeRoomInputOutcome(payload)).toBeUndefined();
    },
  );
});
