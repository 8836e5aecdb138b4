import { encodeCanonicalJson, type JsonObject, type JsonValue } from '@axon/matrix-canonical-json';
import { isJsonObject, redactEvent, validatePdu, type Pdu } from '@axon/matrix-events';
import type { EventId, RoomId, ServerName } from '@axon/matrix-identifiers';
import { getCanonicalJsonMode, type RoomVersionRules } from '@axon/matrix-room-versions';
import { checkContentHash, computeEventId, getRequiredEventSigners, verifyEventSignatures, type Ed25519Backend, type KnownServerKeys } from '@axon/matrix-signing';

/**
 * The verify keys of servers, fetched as needed (the key ring): for each server the key
 * IDs its signatures name, valid until at least `atTs` (the event's `origin_server_ts`);
 * a server whose keys cannot be had is left out.
 */
export interface EventKeySource {
  keysOf(wanted: ReadonlyMap<ServerName, readonly string[]>, atTs: number): Promise<ReadonlyMap<ServerName, KnownServerKeys>>;
}

/** The `ed25519:` key IDs each server signed `pdu` with. */
function signingKeyIds(pdu: JsonObject, servers: readonly ServerName[]): Map<ServerName, string[]> {
  const signatures = pdu['signatures'];
  const of = (server: ServerName): string[] => {
    const byKey = typeof signatures === 'object' && signatures !== null && !Array.isArray(signatures) ? (signatures as JsonObject)[server] : undefined;
    return typeof byKey === 'object' && byKey !== null && !Array.isArray(byKey) ? Object.keys(byKey).filter((id) => id.startsWith('ed25519:')) : [];
  };
  return new Map(servers.map((server) => [server, of(server)]));
}

/** A received PDU that passed the format, signature and hash checks: what goes to the room server. */
export interface CheckedPdu {
  readonly eventId: EventId;
  readonly roomId: RoomId;
  readonly pdu: Pdu;
  /** Canonical JSON of the PDU, or of its redacted copy when its content hash did not match. */
  readonly pduJson: string;
  readonly redacted: boolean;
}

/** A refused PDU carries its event ID when it can be named (`nameReceivedPdu`). */
export type PduCheck = { readonly ok: true; readonly value: CheckedPdu } | { readonly ok: false; readonly reason: string; readonly eventId?: EventId };

/**
 * The event ID of a received PDU whatever its checks say, so that a `/send` answer can
 * report a refusal under it: `event_id` in the formats that carry it, the reference hash
 * otherwise; undefined for a value that is no JSON object or has no canonical form.
 *
 * Spec: https://spec.matrix.org/v1.19/server-server-api/#put_matrixfederationv1sendtxnid
 */
export function nameReceivedPdu(value: JsonValue, rules: RoomVersionRules): EventId | undefined {
  if (!isJsonObject(value)) return undefined;
  if (rules.eventFormat.includesEventId) return typeof value['event_id'] === 'string' ? (value['event_id'] as EventId) : undefined;
  try {
    return computeEventId(value, rules.eventFormat, rules.redaction) as EventId;
  } catch {
    return undefined;
  }
}

/**
 * The first three "checks performed on receipt of a PDU", those before the room server's:
 * 1. it is a valid event of the room version (format, sizes), else dropped;
 * 2. it carries a valid signature of every server that must sign it, else dropped;
 * 3. its content hash matches, else it goes on redacted (the redacted copy is what is
 *    stored and served).
 *
 * Spec: https://spec.matrix.org/v1.19/server-server-api/#checks-performed-on-receipt-of-a-pdu
 */
export async function checkReceivedPdu(value: JsonValue, rules: RoomVersionRules, keys: EventKeySource, backend: Ed25519Backend): Promise<PduCheck> {
  const format = rules.eventFormat;
  const refuse = (reason: string): PduCheck => {
    const eventId = nameReceivedPdu(value, rules);
    return eventId === undefined ? { ok: false, reason } : { ok: false, reason, eventId };
  };
  const valid = validatePdu(value, format);
  if (!valid.ok) return refuse(`not a valid event: ${valid.error.field} ${valid.error.reason}`);
  let pdu: JsonObject = valid.value;
  const mode = getCanonicalJsonMode(rules);
  const signers = getRequiredEventSigners(pdu, rules.signatures);
  if (!signers.ok) return refuse(`signatures: ${signers.error}`);
  const known = await keys.keysOf(signingKeyIds(pdu, signers.value), Number(pdu['origin_server_ts']));
  const verified = verifyEventSignatures(pdu, { signatureRules: rules.signatures, redactionRules: rules.redaction, mode, backend, keysFor: (server) => known.get(server) });
  if (!verified.ok) return refuse(`signatures: ${verified.error.message}`);
  const hash = checkContentHash(pdu, { mode });
  if (hash === 'not_canonical') return refuse('the event has no canonical JSON form');
  const redacted = hash === 'mismatch';
  if (redacted) pdu = redactEvent(pdu, rules.redaction);
  const eventId = (format.includesEventId ? pdu['event_id'] : computeEventId(pdu, format, rules.redaction)) as EventId;
  const roomId = pdu['room_id'] as RoomId;
  return { ok: true, value: { eventId, roomId, pdu: pdu as Pdu, pduJson: encodeCanonicalJson(pdu, { mode }), redacted } };
}
