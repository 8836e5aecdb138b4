import { createHash } from 'node:crypto';
import { encodeCanonicalJsonBytes, type CanonicalJsonMode, type JsonObject } from '@axon/matrix-canonical-json';
import { redactEvent, type RedactionRules } from '@axon/matrix-events';

/**
 * Computes an event's reference hash (32 bytes): the event is redacted with the room
 * version's rules, `signatures` and `unsigned` are removed, and the canonical JSON is
 * hashed with SHA-256. For `pdu_v1` events (room versions 1 and 2) the redaction rules
 * keep `event_id`, so it is covered by the hash; the spec adds no other special case.
 * `mode` is `lenient` for room versions 1 to 5. The input is not modified. Throws
 * `CanonicalJsonError` when the redacted event has no canonical form in that mode.
 *
 * Spec: https://spec.matrix.org/v1.19/server-server-api/#calculating-the-reference-hash-for-an-event
 */
export function computeReferenceHash(pdu: JsonObject, redactionRules: RedactionRules, mode: CanonicalJsonMode = 'strict'): Uint8Array {
  const redacted = redactEvent(pdu, redactionRules);
  const essential: JsonObject = {};
  for (const [name, value] of Object.entries(redacted)) {
    if (name === 'signatures' || name === 'unsigned') continue;
    Object.defineProperty(essential, name, { value, enumerable: true, writable: true, configurable: true });
  }
  const bytes = encodeCanonicalJsonBytes(essential, { mode });
  return new Uint8Array(createHash('sha256').update(bytes).digest());
}
