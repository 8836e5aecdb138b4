import { parseEventId, parseHistoricalUserId, parseRoomId, type EventId } from '@axon/matrix-identifiers';
import { buildPdu, type BuildPduInput } from './build-pdu';
import { EVENT_FORMAT_V1, EVENT_FORMAT_V11, EVENT_FORMAT_V12, EVENT_FORMAT_V6 } from './pdu';

function must<T>(result: { ok: true; value: T } | { ok: false; error: string }): T {
  if (!result.ok) throw new Error(result.error);
  return result.value;
}

const HASH = 'Nhcu5BS-UMnFX7hBVfVSoXiD7OgH6iRT-xyIuqDnpYQ';
const eventV4: EventId = must(parseEventId(`$${HASH}`));
const input: BuildPduInput = {
  roomId: must(parseRoomId('!room:example.org')),
  sender: must(parseHistoricalUserId('@alice:example.org')),
  type: 'm.room.member',
  stateKey: '@alice:example.org',
  content: { membership: 'join' },
  prevEvents: [{ eventId: eventV4 }],
  authEvents: [{ eventId: eventV4 }],
  depth: 2,
  originServerTs: 1700000000000,
};

describe('buildPdu', () => {
  it('builds a v6 PDU with event ID lists and no hashes, signatures or event_id', () => {
    expect(must(buildPdu(input, EVENT_FORMAT_V6))).toEqual({
      room_id: '!room:example.org',
      sender: '@alice:example.org',
      type: 'm.room.member',
      state_key: '@alice:example.org',
      content: { membership: 'join' },
      prev_events: [`$${HASH}`],
      auth_events: [`$${HASH}`],
      depth: 2,
      origin_server_ts: 1700000000000,
    });
  });

  it('builds v1 references as [event_id, hashes] pairs', () => {
    const v1Id = must(parseEventId('$abc:example.org'));
    const pdu = must(buildPdu({ ...input, prevEvents: [{ eventId: v1Id, hashes: { sha256: 'h' } }], authEvents: [] }, EVENT_FORMAT_V1));
    expect(pdu.prev_events).toEqual([['$abc:example.org', { sha256: 'h' }]]);
    expect(pdu).not.toHaveProperty('event_id');
  });

  it('refuses v1 references without hashes', () => {
    expect(buildPdu(input, EVENT_FORMAT_V1)).toEqual({ ok: false, error: `event format v1 needs the hashes of $${HASH}` });
  });

  it('omits room_id from m.room.create in v12 and requires it otherwise', () => {
    const create = { ...input, roomId: undefined, type: 'm.room.create', stateKey: '', prevEvents: [], authEvents: [] };
    expect(must(buildPdu(create, EVENT_FORMAT_V12))).not.toHaveProperty('room_id');
    expect(buildPdu({ ...create, roomId: input.roomId }, EVENT_FORMAT_V12).ok).toBe(false);
    expect(buildPdu(create, EVENT_FORMAT_V11).ok).toBe(false);
  });

  it('puts redacts at the top level before v11 and refuses it from v11', () => {
    const redaction = { ...input, type: 'm.room.redaction', stateKey: undefined, content: {}, redacts: eventV4 };
    expect(must(buildPdu(redaction, EVENT_FORMAT_V6)).redacts).toBe(`$${HASH}`);
    expect(buildPdu(redaction, EVENT_FORMAT_V11).ok).toBe(false);
  });

  it('leaves state_key out of non-state events', () => {
    expect(must(buildPdu({ ...input, stateKey: undefined }, EVENT_FORMAT_V11))).not.toHaveProperty('state_key');
  });
});
