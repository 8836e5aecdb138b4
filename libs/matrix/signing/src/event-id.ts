import { randomBytes } from 'node:crypto';
import {
  encodeUnpaddedBase64,
  encodeUrlSafeUnpaddedBase64,
  type JsonObject,
} from '@axon/matrix-canonical-json';
import type { EventFormat, RedactionRules } from '@axon/matrix-events';
import { computeReferenceHash } from './reference-hash';

/**
 * Turns a reference hash into an event ID of a hash-based format: `$` + unpadded standard
 * Base64 (`v3`, room version 3) or `$` + unpadded URL-safe Base64 (`v4`, room versions 4
 * and later). Throws `RangeError` for format `v1`, whose IDs are chosen by the origin
 * server (see `generateV1EventId`).
 *
 * Spec: https://spec.matrix.org/v1.19/rooms/v3/#event-ids,
 * https://spec.matrix.org/v1.19/rooms/v4/#event-ids
 */
export function eventIdFromReferenceHash(referenceHash: Uint8Array, format: EventFormat): string {
  switch (format.eventIdFormat) {
    case 'v3':
      return `$${encodeUnpaddedBase64(referenceHash)}`;
    case 'v4':
      return `$${encodeUrlSafeUnpaddedBase64(referenceHash)}`;
    case 'v1':
      throw new RangeError(`event format ${format.name} has no hash-based event IDs`);
  }
}

/**
 * Computes the event ID of a PDU in a hash-based format (`pdu_v3` onwards): the reference
 * hash under the room version's redaction rules, encoded as `eventIdFromReferenceHash`
 * does. The canonical JSON mode follows `format.strictCanonicalJson`. Throws `RangeError`
 * for format `v1` and `CanonicalJsonError` when the event has no canonical form.
 *
 * Spec: https://spec.matrix.org/v1.19/rooms/v4/#event-ids
 */
export function computeEventId(pdu: JsonObject, format: EventFormat, redactionRules: RedactionRules): string {
  if (format.eventIdFormat === 'v1') {
    throw new RangeError(`event format ${format.name} has no hash-based event IDs`);
  }
  const mode = format.strictCanonicalJson ? 'strict' : 'lenient';
  return eventIdFromReferenceHash(computeReferenceHash(pdu, redactionRules, mode), format);
}

/**
 * Generates a room version 1 and 2 event ID, `$opaque:server`: the origin server picks
 * the opaque part; here 18 random bytes as URL-safe unpadded Base64 (24 characters of
 * `[A-Za-z0-9_-]`). `serverName` is assumed valid (our own name).
 *
 * Spec: https://spec.matrix.org/v1.19/appendices/#event-ids
 */
export function generateV1EventId(serverName: string): string {
  return `$${encodeUrlSafeUnpaddedBase64(new Uint8Array(randomBytes(18)))}:${serverName}`;
}
