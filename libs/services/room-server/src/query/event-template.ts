import type { JsonObject } from '@axon/matrix-canonical-json';
import { MatrixError } from '@axon/matrix-errors';
import { authStateFromEvents, checkEventAuth, formatStateKey, parseStateKey, selectAuthEventKeys, toAuthEvent } from '@axon/matrix-event-auth';
import { buildPdu, type Pdu, type UnsignedPdu } from '@axon/matrix-events';
import { parseHistoricalUserId, type RoomId } from '@axon/matrix-identifiers';
import { getRoomVersionRules, isKnownRoomVersion } from '@axon/matrix-room-versions';
import { authEventOf, placeAfter, reference } from '../events/event-builder';
import type { RoomStorage } from '../storage/room-storage';

/** The event a template is asked for: what another server's user wants to send. */
export interface TemplateRequest {
  readonly type: string;
  readonly stateKey: string;
  readonly sender: string;
  readonly content: JsonObject;
}

/**
 * An unsigned event for another server to complete, sign and send back (`make_join`,
 * `make_leave`, `make_knock`): on the room's forward extremities, citing the auth events
 * the current state holds for it. Refused with M_FORBIDDEN when the current state would
 * not allow it (an invite-only room for a join without an invite, say), M_NOT_FOUND for a
 * room unknown here.
 *
 * Spec: https://spec.matrix.org/v1.19/server-server-api/#get_matrixfederationv1make_joinroomiduserid
 */
export async function buildEventTemplate(storage: RoomStorage, roomId: RoomId, request: TemplateRequest, now: number): Promise<{ roomVersion: string; template: UnsignedPdu }> {
  const { db } = storage;
  const room = await storage.rooms.get(db, roomId);
  if (room === undefined) throw new MatrixError('M_NOT_FOUND', `unknown room ${roomId}`, 404);
  const rules = getRoomVersionRules(room.room_version);
  if (!rules.ok) throw new MatrixError('M_UNSUPPORTED_ROOM_VERSION', `room ${roomId} has unsupported version ${room.room_version}`);
  const sender = parseHistoricalUserId(request.sender);
  if (!sender.ok) throw new MatrixError('M_INVALID_PARAM', `sender ${sender.error}`);
  const proto = { type: request.type, state_key: request.stateKey, sender: request.sender, content: request.content };
  const selected = new Set(selectAuthEventKeys(proto, rules.value.authorization));
  // The create event is read for the check even where (room version 12) it is never cited.
  const state = await storage.state.current(db, roomId, { keys: [...selected, formatStateKey('m.room.create', '')].map(parseStateKey) });
  const cited = state.filter((event) => selected.has(formatStateKey(event.type, event.state_key ?? '')));
  const { prev, depth } = placeAfter(await storage.rooms.forwardExtremities(db, roomId), rules.value);
  const built = buildPdu(
    {
      roomId,
      sender: sender.value,
      type: request.type,
      stateKey: request.stateKey,
      content: request.content,
      prevEvents: prev.map((event) => reference(event, rules.value)),
      authEvents: cited.map((event) => reference(event, rules.value)),
      depth,
      originServerTs: now,
    },
    rules.value.eventFormat,
  );
  if (!built.ok) throw new MatrixError('M_BAD_JSON', built.error);
  // Whether the current state allows it, as the event will be (its ID is not known yet).
  const would = toAuthEvent({ ...built.value, hashes: { sha256: '' }, signatures: {} } as unknown as Pdu, '$template', rules.value.eventFormat);
  const allowed = checkEventAuth(would, authStateFromEvents(state.map((event) => authEventOf(event.event_id, event.pdu_json, rules.value))), rules.value.authorization, { isKnownRoomVersion });
  if (!allowed.ok) throw new MatrixError('M_FORBIDDEN', `${allowed.error.reason} (${allowed.error.rule})`, 403);
  return { roomVersion: room.room_version, template: built.value };
}
