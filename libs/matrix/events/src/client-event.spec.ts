import { formatClientEvent } from './client-event';
import { REDACTION_V11 } from './redaction';

describe('formatClientEvent', () => {
  const pdu = {
    type: 'm.room.message',
    sender: '@a:x',
    room_id: '!r:x',
    content: { body: 'hi', msgtype: 'm.text' },
    origin_server_ts: 1000,
    depth: 3,
    prev_events: ['$p'],
    auth_events: ['$a'],
    hashes: { sha256: 'h' },
    signatures: {},
    unsigned: { age_ts: 5 },
  };

  it('keeps the client fields and drops the federation ones', () => {
    expect(formatClientEvent(pdu, { eventId: '$e', roomId: '!r:x', now: 1500 })).toEqual({
      content: { body: 'hi', msgtype: 'm.text' },
      event_id: '$e',
      room_id: '!r:x',
      sender: '@a:x',
      type: 'm.room.message',
      origin_server_ts: 1000,
      unsigned: { age: 500 },
    });
  });

  it('serves a redacted event redacted, with the redaction and the transaction ID', () => {
    const because = { type: 'm.room.redaction', event_id: '$r' };
    const formatted = formatClientEvent(pdu, { eventId: '$e', roomId: '!r:x', now: 1000, redacted: { rules: REDACTION_V11, because }, transactionId: 't1' });
    expect(formatted['content']).toEqual({});
    expect(formatted['unsigned']).toEqual({ age: 0, redacted_because: because, transaction_id: 't1' });
  });

  it('keeps state_key and a top-level redacts where the PDU has them', () => {
    const state = formatClientEvent({ ...pdu, type: 'm.room.topic', state_key: '', content: { topic: 't' } }, { eventId: '$s', roomId: '!r:x', now: 1000 });
    expect(state['state_key']).toBe('');
    const redaction = formatClientEvent({ ...pdu, type: 'm.room.redaction', redacts: '$e', content: {} }, { eventId: '$r', roomId: '!r:x', now: 1000 });
    expect(redaction['redacts']).toBe('$e');
  });

  it('serves a redaction with its target both at the top level and in content, whatever its room version keeps', () => {
    // Room versions 11 and 12: only in content.
    const v11 = formatClientEvent({ ...pdu, type: 'm.room.redaction', content: { redacts: '$e', reason: 'spam' } }, { eventId: '$r', roomId: '!r:x', now: 1000 });
    expect(v11['redacts']).toBe('$e');
    expect(v11['content']).toEqual({ redacts: '$e', reason: 'spam' });
    // Before: only at the top level.
    const v10 = formatClientEvent({ ...pdu, type: 'm.room.redaction', redacts: '$e', content: { reason: 'spam' } }, { eventId: '$r', roomId: '!r:x', now: 1000 });
    expect(v10['redacts']).toBe('$e');
    expect(v10['content']).toEqual({ reason: 'spam', redacts: '$e' });
    // Another event type with a redacts key in content is left alone.
    expect(formatClientEvent({ ...pdu, content: { redacts: '$e' } }, { eventId: '$m', roomId: '!r:x', now: 1000 })).not.toHaveProperty('redacts');
  });
});
