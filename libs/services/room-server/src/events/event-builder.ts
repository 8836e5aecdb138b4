import { encodeCanonicalJson, type JsonObject } from '@axon/matrix-canonical-json';
import { MatrixError } from '@axon/matrix-errors';
import { buildPdu, isJsonObject, validatePdu, type EventHashes, type EventReference, type Pdu } from '@axon/matrix-events';
import { toAuthEvent, type AuthEvent } from '@axon/matrix-event-auth';
import type { EventId, RoomId, UserId } from '@axon/matrix-identifiers';
import { getCanonicalJsonMode, type RoomVersionRules } from '@axon/matrix-room-versions';
import { computeEventId, generateV1EventId, signEvent, type Ed25519Backend, type SigningKey } from '@axon/matrix-signing';
import type { ProtoEvent } from '@axon/contracts-kafka';

/** An event already in the room, as the builder needs it to reference it. */
export interface ReferencedEvent {
  readonly event_id: string;
  readonly depth: number;
  /** Its PDU JSON: the `hashes` of format v1 references come from it. */
  readonly pdu_json: string;
}

/** Who signs: this server's name, key and Ed25519 backend. */
export interface Signer {
  readonly serverName: string;
  readonly key: SigningKey;
  readonly backend: Ed25519Backend;
}

/** A built, signed event: the PDU, its canonical JSON (stored and sent as is), its view for the auth rules. */
export interface BuiltEvent {
  readonly pdu: Pdu;
  readonly pduJson: string;
  readonly eventId: string;
  readonly authEvent: AuthEvent;
}

function reference(event: ReferencedEvent, rules: RoomVersionRules): EventReference {
  if (!rules.eventFormat.referencesWithHashes) return { eventId: event.event_id as EventId };
  const parsed = JSON.parse(event.pdu_json) as JsonObject;
  const hashes = parsed['hashes'];
  return { eventId: event.event_id as EventId, hashes: (isJsonObject(hashes) ? hashes : { sha256: '' }) as EventHashes };
}

/**
 * Builds and signs a local event: `prev_events` are the room's forward extremities (at
 * most 20, the deepest kept), `depth` one more than the deepest of them, `auth_events` the
 * state the selection algorithm names, then hashes, signature and event ID for the room
 * version's format. Refuses what the format cannot carry (`M_BAD_JSON`) and events over
 * the size limits (`M_TOO_LARGE`).
 *
 * Spec: https://spec.matrix.org/v1.19/server-server-api/#pdus
 */
export function buildLocalEvent(
  proto: ProtoEvent,
  context: {
    readonly rules: RoomVersionRules;
    readonly roomId: string | undefined;
    readonly prevEvents: readonly ReferencedEvent[];
    readonly authEvents: readonly ReferencedEvent[];
    readonly signer: Signer;
    readonly now: number;
  },
): BuiltEvent {
  const { rules, signer } = context;
  const prev = [...context.prevEvents].sort((x, y) => y.depth - x.depth).slice(0, 20);
  const depth = Math.min(prev.reduce((max, event) => Math.max(max, event.depth), 0) + 1, Number(rules.eventFormat.maxDepth));
  const format = rules.eventFormat;
  const content: JsonObject = { ...(proto.content as JsonObject) };
  let redacts: string | undefined;
  if (proto.redacts !== undefined) {
    if (format.topLevelRedacts) redacts = proto.redacts;
    else content['redacts'] = proto.redacts;
  }
  const built = buildPdu(
    {
      ...(context.roomId === undefined ? {} : { roomId: context.roomId as RoomId }),
      sender: proto.sender as UserId,
      type: proto.type,
      ...(proto.state_key === undefined ? {} : { stateKey: proto.state_key }),
      content,
      prevEvents: prev.map((event) => reference(event, rules)),
      authEvents: context.authEvents.map((event) => reference(event, rules)),
      depth,
      originServerTs: context.now,
      ...(redacts === undefined ? {} : { redacts: redacts as EventId }),
    },
    format,
  );
  if (!built.ok) throw new MatrixError('M_BAD_JSON', built.error);
  const unsigned: JsonObject = format.includesEventId ? { ...built.value, event_id: generateV1EventId(signer.serverName) } : { ...built.value };
  const mode = getCanonicalJsonMode(rules);
  let signed: JsonObject;
  try {
    signed = signEvent(unsigned, { serverName: signer.serverName, key: signer.key, backend: signer.backend, redactionRules: rules.redaction, mode });
  } catch (error) {
    throw new MatrixError('M_BAD_JSON', `the event has no canonical JSON form: ${(error as Error).message}`);
  }
  const valid = validatePdu(signed, format);
  if (!valid.ok) {
    const tooLarge = valid.error.field === '(event)' && valid.error.reason.includes('bytes of canonical JSON');
    throw new MatrixError(tooLarge ? 'M_TOO_LARGE' : 'M_BAD_JSON', `${valid.error.field} ${valid.error.reason}`, tooLarge ? 413 : 400);
  }
  const eventId = format.includesEventId ? (signed['event_id'] as string) : computeEventId(signed, format, rules.redaction);
  return { pdu: valid.value, pduJson: encodeCanonicalJson(signed, { mode }), eventId, authEvent: toAuthEvent(valid.value, eventId, format) };
}

/** The `AuthEvent` view of a stored event. */
export function authEventOf(eventId: string, pduJson: string, rules: RoomVersionRules): AuthEvent {
  return toAuthEvent(JSON.parse(pduJson) as Pdu, eventId, rules.eventFormat);
}
