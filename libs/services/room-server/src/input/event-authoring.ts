import type { ProtoEvent } from '@axon/contracts-kafka';
import type { JsonObject } from '@axon/matrix-canonical-json';
import { MatrixError } from '@axon/matrix-errors';
import { authStateFromEvents, checkEventAuth, formatStateKey, parseStateKey, selectAuthEventKeys, type AuthEvent, type AuthState } from '@axon/matrix-event-auth';
import type { EventId, RoomId } from '@axon/matrix-identifiers';
import { isKnownRoomVersion, type RoomVersionRules } from '@axon/matrix-room-versions';
import { buildLocalEvent, type BuiltEvent, type ReferencedEvent, type Signer } from '../events/event-builder';

/** The (type, state_key) of each auth event `proto` must cite that the state holds. */
export function authEventsFor(proto: ProtoEvent, rules: RoomVersionRules, state: AuthState): Array<[string, string]> {
  const keys: Array<[string, string]> = [];
  for (const key of selectAuthEventKeys({ ...proto, content: proto.content as JsonObject }, rules.authorization)) {
    const [type, stateKey] = parseStateKey(key);
    if (state.get(type, stateKey) !== undefined) keys.push([type, stateKey]);
  }
  return keys;
}

/** Builds, hashes and signs a local event, then checks it against the auth rules; M_FORBIDDEN if they refuse it. */
export function buildChecked(
  signer: Signer,
  now: number,
  proto: ProtoEvent,
  rules: RoomVersionRules,
  roomId: RoomId | undefined,
  prev: readonly ReferencedEvent[],
  auth: readonly ReferencedEvent[],
  authState: AuthState,
): BuiltEvent {
  const built = buildLocalEvent(proto, {
    rules,
    roomId: proto.type === 'm.room.create' && rules.authorization.roomIdIsCreateEventId ? undefined : roomId,
    prevEvents: prev,
    authEvents: auth,
    signer,
    now,
  });
  const allowed = checkEventAuth(built.authEvent, authState, rules.authorization, { isKnownRoomVersion, backend: signer.backend });
  if (!allowed.ok) throw new MatrixError('M_FORBIDDEN', `${allowed.error.reason} (${allowed.error.rule})`);
  return built;
}

/** A new room's initial events, built in order, each on the one before. */
export interface InitialChain {
  readonly roomId: RoomId;
  readonly createEventId: EventId;
  readonly events: ReadonlyArray<{ readonly proto: ProtoEvent; readonly built: BuiltEvent; readonly prev: readonly EventId[] }>;
}

/**
 * Builds a new room's initial events (the first being `m.room.create`), each authorised
 * against the state the ones before it made. `provisionalId` is the room ID where the
 * version does not derive it from the create event (`roomIdOf`).
 */
export function chainInitialEvents(
  signer: Signer,
  now: () => number,
  protos: readonly ProtoEvent[],
  rules: RoomVersionRules,
  provisionalId: RoomId | undefined,
  roomIdOf: (createEventId: EventId) => RoomId,
): InitialChain {
  const [createProto, ...rest] = protos;
  if (createProto === undefined || createProto.type !== 'm.room.create' || createProto.state_key !== '') {
    throw new MatrixError('M_BAD_JSON', 'the first event of a new room must be m.room.create');
  }
  const state = new Map<string, AuthEvent>();
  const stored = new Map<string, ReferencedEvent>();
  const create = buildChecked(signer, now(), createProto, rules, provisionalId, [], [], authStateFromEvents([]));
  const roomId = provisionalId ?? roomIdOf(create.eventId);
  const events: Array<{ proto: ProtoEvent; built: BuiltEvent; prev: EventId[] }> = [{ proto: createProto, built: create, prev: [] }];
  let previous: ReferencedEvent = { event_id: create.eventId, depth: 1, pdu_json: create.pduJson };
  state.set(formatStateKey('m.room.create', ''), create.authEvent);
  stored.set(create.eventId, previous);
  for (const proto of rest) {
    const current = authStateFromEvents(state.values());
    const auth = authEventsFor(proto, rules, current).map(([type, stateKey]) => stored.get(current.get(type, stateKey)!.event_id)!);
    const event = buildChecked(signer, now(), proto, rules, roomId, [previous], auth, current);
    events.push({ proto, built: event, prev: [previous.event_id] });
    previous = { event_id: event.eventId, depth: event.authEvent.depth, pdu_json: event.pduJson };
    stored.set(event.eventId, previous);
    if (proto.state_key !== undefined) state.set(formatStateKey(proto.type, proto.state_key), event.authEvent);
  }
  return { roomId, createEventId: create.eventId, events };
}
