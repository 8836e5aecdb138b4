import type { JsonObject, JsonValue } from '@axon/matrix-canonical-json';
import { EVENT_FORMAT_V1, EVENT_FORMAT_V11, EVENT_FORMAT_V12, EVENT_FORMAT_V3, EVENT_FORMAT_V4, EVENT_FORMAT_V6, type EventFormat } from './pdu';
import { validatePdu } from './pdu-validation';
import { SPEC_EXAMPLE_PDUS } from './testing/spec-example-pdus';

// Stand-ins for the spec's placeholder event IDs: real reference-hash IDs (43 characters
// of unpadded Base64 after `$`), in the alphabet of each format.
const HASH_ID_V3 = '$Rqnc+F9lFSdSN1ld/ZSJ4LAGfPYTA7ENNvt5KzhHf3U';
const HASH_ID_V4 = '$Rqnc-F9lFSdSN1ld_ZSJ4LAGfPYTA7ENNvt5KzhHf3U';

function withReferences(pdu: JsonObject, id: string, extra: JsonObject = {}): JsonObject {
  return { ...pdu, auth_events: [id], prev_events: [id], ...extra };
}

describe('the spec\'s example PDUs (server-server API, data/api/server-server/examples)', () => {
  // Each example, the event format it illustrates, and whether it is valid as published.
  // The v3+ examples use placeholder event IDs ("$base64encodedeventid") that are not
  // reference hashes, so the grammar of their own room versions refuses them; with real
  // IDs in their place they are valid.
  const asPublished: Array<[keyof typeof SPEC_EXAMPLE_PDUS, EventFormat, { field: string } | 'valid']> = [
    ['pdu_v1', EVENT_FORMAT_V1, 'valid'],
    ['pdu_v3', EVENT_FORMAT_V3, { field: 'redacts' }],
    ['pdu_v4', EVENT_FORMAT_V4, { field: 'redacts' }],
    ['pdu_v4_join_membership', EVENT_FORMAT_V6, { field: 'auth_events[0]' }],
    ['pdu_v11', EVENT_FORMAT_V11, { field: 'auth_events[0]' }],
    ['pdu_v12', EVENT_FORMAT_V12, { field: 'auth_events[0]' }],
  ];
  it.each(asPublished)('%s as published, under its own event format', (name, format, expected) => {
    const result = validatePdu(SPEC_EXAMPLE_PDUS[name] as JsonValue, format);
    if (expected === 'valid') expect(result).toEqual({ ok: true, value: SPEC_EXAMPLE_PDUS[name] });
    else expect(result).toMatchObject({ ok: false, error: expected });
  });

  const withRealIds: Array<[string, JsonObject, EventFormat]> = [
    ['pdu_v3', withReferences(SPEC_EXAMPLE_PDUS.pdu_v3, HASH_ID_V3, { redacts: HASH_ID_V3 }), EVENT_FORMAT_V3],
    ['pdu_v4', withReferences(SPEC_EXAMPLE_PDUS.pdu_v4, HASH_ID_V4, { redacts: HASH_ID_V4 }), EVENT_FORMAT_V4],
    ['pdu_v4_join_membership', withReferences(SPEC_EXAMPLE_PDUS.pdu_v4_join_membership, HASH_ID_V4), EVENT_FORMAT_V6],
    ['pdu_v11', withReferences(SPEC_EXAMPLE_PDUS.pdu_v11, HASH_ID_V4), EVENT_FORMAT_V11],
    ['pdu_v12', withReferences(SPEC_EXAMPLE_PDUS.pdu_v12, HASH_ID_V4), EVENT_FORMAT_V12],
  ];
  it.each(withRealIds)('%s with reference-hash IDs is valid', (_name, pdu, format) => {
    expect(validatePdu(pdu, format)).toEqual({ ok: true, value: pdu });
  });

  const wrongFormat: Array<[string, JsonObject, EventFormat, string]> = [
    ['pdu_v1 (with event_id and [id, hashes] references)', SPEC_EXAMPLE_PDUS.pdu_v1, EVENT_FORMAT_V3, 'event_id'],
    ['pdu_v3 (standard Base64 IDs)', withReferences(SPEC_EXAMPLE_PDUS.pdu_v3, HASH_ID_V3, { redacts: HASH_ID_V3 }), EVENT_FORMAT_V4, 'redacts'],
    ['pdu_v4 (no event_id)', withReferences(SPEC_EXAMPLE_PDUS.pdu_v4, HASH_ID_V4, { redacts: HASH_ID_V4 }), EVENT_FORMAT_V1, 'event_id'],
    ['pdu_v4 with an event_id (plain ID references)', withReferences(SPEC_EXAMPLE_PDUS.pdu_v4, HASH_ID_V4, { event_id: '$a:example.com', redacts: '$b:example.com' }), EVENT_FORMAT_V1, 'auth_events[0]'],
    ['pdu_v12 (a hash room ID)', withReferences(SPEC_EXAMPLE_PDUS.pdu_v12, HASH_ID_V4), EVENT_FORMAT_V11, 'room_id'],
    ['pdu_v11 (a server-named room ID)', withReferences(SPEC_EXAMPLE_PDUS.pdu_v11, HASH_ID_V4), EVENT_FORMAT_V12, 'room_id'],
  ];
  it.each(wrongFormat)('%s is refused under another event format', (_name, pdu, format, field) => {
    expect(validatePdu(pdu, format)).toMatchObject({ ok: false, error: { field } });
  });
});
