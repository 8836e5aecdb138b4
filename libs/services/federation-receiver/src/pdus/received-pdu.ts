import { encodeCanonicalJson, type JsonObject, type JsonValue } from '@axon/matrix-canonical-json';
import { redactEvent, validatePdu, type Pdu } from '@axon/matrix-events';
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

export type PduCheck = { readonly ok: true; readonly value: CheckedPdu } | { readonly ok: false; readonly reason: string };

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
  const valid = validatePdu(value, format);
  if (!valid.ok) return { ok: false, reason: `not a valid event: ${valid.error.field} ${valid.error.reason}` };
  let pdu: JsonObject = valid.value;
  const mode = getCanonicalJsonMode(rules);
  const signers = getRequiredEventSigners(pdu, rules.signatures);
  if (!signers.ok) return { ok: false, reason: `signatures: ${signers.error}` };
  const known = await keys.keysOf(signingKeyIds(pdu, signers.value), Number(pdu['origin_server_ts']));
  const verified = verifyEventSignatures(pdu, { signatureRules: rules.signatures, redactionRules: rules.redaction, mode, backend, keysFor: (server) => known.get(server) });
  if (!verified.ok) return { ok: false, reason: `signatures: ${verified.error.message}` };
  const hash = checkContentHash(pdu, { mode });
  if (hash === 'not_canonical') return { ok: false, reason: 'the event has no canonical JSON form' };
  const redacted = hash === 'mismatch';
  if (redacted) pdu = redactEvent(pdu, rules.redaction);
  const eventId = (format.includesEventId ? pdu['event_id'] : computeEventId(pdu, format, rules.redaction)) as EventId;
  const roomId = pdu['room_id'] as RoomId;
  return { ok: true, value: { eventId, roomId, pdu: pdu as Pdu, pduJson: encodeCanonicalJson(pdu, { mode }), redacted } };
}
