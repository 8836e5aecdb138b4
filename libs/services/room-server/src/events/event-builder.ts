import { encodeCanonicalJson, type JsonObject } from '@axon/matrix-canonical-json';
import { MatrixError } from '@axon/matrix-errors';
import { buildPdu, isJsonObject, validatePdu, type EventHashes, type EventReference, type Pdu } from '@axon/matrix-events';
import { toAuthEvent, type AuthEvent } from '@axon/matrix-event-auth';
import { parseEventIdOfFormat, parseHistoricalUserId, type EventId, type RoomId, type UserId } from '@axon/matrix-identifiers';
import { getCanonicalJsonMode, type RoomVersionRules } from '@axon/matrix-room-versions';
import { computeEventId, generateV1EventId, signEvent, type Ed25519Backend, type SigningKey } from '@axon/matrix-signing';
import type { ProtoEvent } from '@axon/contracts-kafka';

/** An event already in the room, as the builder needs it to reference it. */
export interface ReferencedEvent {
  readonly event_id: EventId;
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
  readonly eventId: EventId;
  readonly sender: UserId;
  /** Its `auth_events`, as the IDs of the events it was built on. */
  readonly authEventIds: readonly EventId[];
  readonly authEvent: AuthEvent;
}

export function reference(event: ReferencedEvent, rules: RoomVersionRules): EventReference {
  if (!rules.eventFormat.referencesWithHashes) return { eventId: event.event_id };
  const parsed = JSON.parse(event.pdu_json) as JsonObject;
  const hashes = parsed['hashes'];
  return { eventId: event.event_id, hashes: (isJsonObject(hashes) ? hashes : { sha256: '' }) as EventHashes };
}

/**
 * Where a new event goes in the DAG: after the room's forward extremities (at most 20, the
 * deepest kept), one deeper than the deepest of them (capped at the format's maximum).
 * Spec: https://spec.matrix.org/v1.19/server-server-api/#pdus
 */
export function placeAfter(extremities: readonly ReferencedEvent[], rules: RoomVersionRules): { prev: ReferencedEvent[]; depth: number } {
  const prev = [...extremities].sort((x, y) => y.depth - x.depth).slice(0, 20);
  const depth = Math.min(prev.reduce((max, event) => Math.max(max, event.depth), 0) + 1, Number(rules.eventFormat.maxDepth));
  return { prev, depth };
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
    readonly roomId: RoomId | undefined;
    readonly prevEvents: readonly ReferencedEvent[];
    readonly authEvents: readonly ReferencedEvent[];
    readonly signer: Signer;
    readonly now: number;
  },
): BuiltEvent {
  const { rules, signer } = context;
  const { prev, depth } = placeAfter(context.prevEvents, rules);
  const format = rules.eventFormat;
  const content: JsonObject = { ...(proto.content as JsonObject) };
  // The proto's identifiers arrived as strings (`hs.room.input.v1`): parsed here, where
  // they enter the event, refused as `validatePdu` would refuse them in the signed PDU.
  const sender = parseHistoricalUserId(proto.sender);
  if (!sender.ok) throw new MatrixError('M_BAD_JSON', `sender ${sender.error}`);
  let redacts: EventId | undefined;
  if (proto.redacts !== undefined && format.topLevelRedacts) {
    const target = parseEventIdOfFormat(proto.redacts, format.eventIdFormat);
    if (!target.ok) throw new MatrixError('M_BAD_JSON', `redacts ${target.error}`);
    redacts = target.value;
  } else if (proto.redacts !== undefined) {
    // From room version 11 it is content, which no format check covers: the writer parses
    // it where it looks the redacted event up.
    content['redacts'] = proto.redacts;
  }
  const built = buildPdu(
    {
      ...(context.roomId === undefined ? {} : { roomId: context.roomId }),
      sender: sender.value,
      type: proto.type,
      ...(proto.state_key === undefined ? {} : { stateKey: proto.state_key }),
      content,
      prevEvents: prev.map((event) => reference(event, rules)),
      authEvents: context.authEvents.map((event) => reference(event, rules)),
      depth,
      originServerTs: context.now,
      ...(redacts === undefined ? {} : { redacts }),
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
  // Made here (generated above, or the reference hash), in the format's grammar.
  const eventId = (format.includesEventId ? signed['event_id'] : computeEventId(signed, format, rules.redaction)) as EventId;
  return {
    pdu: valid.value,
    pduJson: encodeCanonicalJson(signed, { mode }),
    eventId,
    sender: sender.value,
    authEventIds: context.authEvents.map((event) => event.event_id),
    authEvent: toAuthEvent(valid.value, eventId, format),
  };
}

/** The `AuthEvent` view of a stored event. */
export function authEventOf(eventId: string, pduJson: string, rules: RoomVersionRules): AuthEvent {
  return toAuthEvent(JSON.parse(pduJson) as Pdu, eventId, rules.eventFormat);
}
