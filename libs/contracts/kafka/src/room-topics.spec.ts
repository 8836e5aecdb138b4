import { decodeRoomInputOutcome, encodeRoomInputOutcome, roomInputTopic, type RoomInput } from './room-topics';

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

describe('hs.room.input.v1 codec', () => {
  const { codec } = roomInputTopic;
  const bytes = (value: unknown): Uint8Array => Buffer.from(JSON.stringify(value), 'utf8');
  const send = {
    kind: 'new_event',
    request_id: 'req-1',
    room_id: '!r:example.org',
    event: { type: 'm.room.message', sender: '@alice:example.org', content: { body: 'hi' } },
  } as const;

  it('round-trips a send with the sending device and its transaction ID', () => {
    const input: RoomInput = { ...send, transaction: { device_id: 'DEVICE', txn_id: 'm1.2' } };
    expect(codec.decode(codec.encode(input))).toEqual(input);
  });

  it('takes a send without a transaction (an event the server originates)', () => {
    expect(codec.decode(codec.encode(send))).toEqual(send);
  });

  it.each([
    ['that is a string', 'txn'],
    ['that is an array', ['DEVICE', 'txn']],
    ['that is null', null],
    ['without device_id', { txn_id: 'txn' }],
    ['without txn_id', { device_id: 'DEVICE' }],
    ['whose txn_id is a number', { device_id: 'DEVICE', txn_id: 7 }],
    ['whose device_id is a number', { device_id: 1, txn_id: 'txn' }],
  ])('refuses as poison a transaction %s', (_what, transaction) => {
    expect(() => codec.decode(bytes({ ...send, transaction }))).toThrow(/room input\.transaction/);
  });
});
