import type { JsonObject } from '@axon/matrix-canonical-json';

/**
 * The example PDUs of the Matrix specification v1.19 (github.com/matrix-org/matrix-spec,
 * `data/api/server-server/examples/`: `pdu_v1.json`, `pdu_v3.json`, `pdu_v4.json`,
 * `pdu_v11.json`, `pdu_v12.json`, `pdu_v4_join_membership.json`), with their `$ref` and
 * `allOf` parts (`components/pdu_base.json`, `components/auth_events_prev_events_v4.json`)
 * merged as the rendered spec shows them. The Matrix specification is licensed under the
 * Apache License 2.0 by The Matrix.org Foundation C.I.C.
 */
const PDU_BASE: JsonObject = {
  room_id: '!UcYsUzyxTGDxLBEvLy:example.org',
  sender: '@alice:example.com',
  origin_server_ts: 1404838188000,
  depth: 12,
  type: 'm.room.message',
  content: { key: 'value' },
  hashes: { sha256: 'thishashcoversallfieldsincasethisisredacted' },
  signatures: {
    'example.com': {
      'ed25519:key_version': 'these86bytesofbase64signaturecoveressentialfieldsincludinghashessocancheckredactedpdus',
    },
  },
  unsigned: { age: 4612 },
};

const REFERENCES_V4: JsonObject = {
  auth_events: ['$urlsafe_base64_encoded_eventid', '$a-different-event-id'],
  prev_events: ['$urlsafe_base64_encoded_eventid', '$a-different-event-id'],
};

export const SPEC_EXAMPLE_PDUS = {
  pdu_v1: {
    ...PDU_BASE,
    event_id: '$a4ecee13e2accdadf56c1025:example.com',
    auth_events: [['$af232176:example.org', { sha256: 'abase64encodedsha256hashshouldbe43byteslong' }]],
    prev_events: [['$af232176:example.org', { sha256: 'abase64encodedsha256hashshouldbe43byteslong' }]],
  },
  pdu_v3: {
    ...PDU_BASE,
    auth_events: ['$base64encodedeventid', '$adifferenteventid'],
    prev_events: ['$base64encodedeventid', '$adifferenteventid'],
    redacts: '$some/old+event',
  },
  pdu_v4: { ...PDU_BASE, ...REFERENCES_V4, redacts: '$some-old_event' },
  pdu_v11: { ...PDU_BASE, ...REFERENCES_V4 },
  pdu_v12: { ...PDU_BASE, ...REFERENCES_V4, room_id: '!Nhcu5BS-UMnFX7hBVfVSoXiD7OgH6iRT-xyIuqDnpYQ' },
  pdu_v4_join_membership: {
    ...PDU_BASE,
    signatures: {
      'example.com': {
        'ed25519:key_version': 'these86bytesofbase64signaturecoveressentialfieldsincludinghashessocancheckredactedpdus',
      },
      'resident.example.com': { 'ed25519:other_key_version': 'a different signature' },
    },
    ...REFERENCES_V4,
    type: 'm.room.member',
    state_key: '@alice:example.com',
    content: { membership: 'join', join_authorised_via_users_server: '@arbitrary:resident.example.com' },
  },
} satisfies Record<string, JsonObject>;
