import type { JsonObject } from '@axon/matrix-canonical-json';
import { err, ok, type Result } from '@axon/matrix-errors';
import type { EventId, RoomId, UserId } from '@axon/matrix-identifiers';
import type { EventFormat, EventHashes, UnsignedPdu } from './pdu';

/**
 * A reference to an earlier event. Format `v1` needs its reference hashes as well
 * (`[event_id, hashes]`); later formats use the ID alone.
 * Spec: https://spec.matrix.org/v1.19/rooms/v1/#event-format
 */
export interface EventReference {
  readonly eventId: EventId;
  readonly hashes?: EventHashes;
}

/**
 * What a new event says. `room_id` is omitted only for `m.room.create` in format `v12`;
 * `redacts` is the top-level redaction target of formats before `v11` (from room version
 * 11 it belongs in `content`).
 * Spec: https://spec.matrix.org/v1.19/server-server-api/#pdus
 */
export interface BuildPduInput {
  readonly roomId?: RoomId;
  readonly sender: UserId;
  readonly type: string;
  readonly stateKey?: string;
  readonly content: JsonObject;
  readonly prevEvents: readonly EventReference[];
  readonly authEvents: readonly EventReference[];
  readonly depth: number | bigint;
  readonly originServerTs: number;
  readonly redacts?: EventId;
}

/**
 * Builds an unsigned PDU for an event format. `hashes`, `signatures` and (in format `v1`)
 * `event_id` are added by the signing library; nothing stands in for them here. Refuses
 * inputs the format cannot express.
 * Spec: https://spec.matrix.org/v1.19/server-server-api/#pdus
 */
export function buildPdu(input: BuildPduInput, format: EventFormat): Result<UnsignedPdu> {
  const omitsRoomId = input.type === 'm.room.create' && !format.createEventHasRoomId;
  if (omitsRoomId && input.roomId !== undefined) return err(`m.room.create has no room_id in event format ${format.name}`);
  if (!omitsRoomId && input.roomId === undefined) return err(`room_id is required in event format ${format.name}`);
  if (input.redacts !== undefined && !format.topLevelRedacts) {
    return err(`event format ${format.name} has no top-level redacts; put it in content`);
  }
  const missingHash = format.referencesWithHashes && [...input.authEvents, ...input.prevEvents].find((ref) => ref.hashes === undefined);
  if (missingHash) return err(`event format ${format.name} needs the hashes of ${missingHash.eventId}`);

  const reference = (ref: EventReference) => (format.referencesWithHashes ? [ref.eventId, { ...ref.hashes }] : ref.eventId);
  const pdu: JsonObject = {
    ...(input.roomId === undefined ? {} : { room_id: input.roomId }),
    sender: input.sender,
    type: input.type,
    ...(input.stateKey === undefined ? {} : { state_key: input.stateKey }),
    content: input.content,
    prev_events: input.prevEvents.map(reference),
    auth_events: input.authEvents.map(reference),
    depth: input.depth,
    origin_server_ts: input.originServerTs,
    ...(input.redacts === undefined ? {} : { redacts: input.redacts }),
  };
  return ok(pdu as UnsignedPdu);
}
