import { encodeCanonicalJson, type JsonObject } from '@axon/matrix-canonical-json';
import { formatStateKey, selectAuthEventKeys, type StateKey } from '@axon/matrix-event-auth';
import { buildPdu, type EventReference } from '@axon/matrix-events';
import type { EventId, RoomId, UserId } from '@axon/matrix-identifiers';
import { getCanonicalJsonMode, getRoomVersionRules, type RoomVersionRules } from '@axon/matrix-room-versions';
import { computeEventId, encodeVerifyKey, generateV1EventId, signEvent, type Ed25519Backend, type KnownServerKeys, type SigningKey } from '@axon/matrix-signing';

/** A server that signs test events: its name, key and Ed25519 backend. */
export interface TestSigner {
  readonly serverName: string;
  readonly key: SigningKey;
  readonly backend: Ed25519Backend;
}

/** A signed event of a `SignedRoom`: its PDU, canonical JSON and ID. */
export interface SignedEvent {
  readonly eventId: EventId;
  readonly pdu: JsonObject;
  readonly json: string;
  readonly depth: number;
}

/** The event a test asks for: what a client would send. */
export interface TestEvent {
  readonly type: string;
  readonly state_key?: string;
  readonly sender: string;
  readonly content: JsonObject;
}

/** The keys of a signer as a receiving server knows them (`verifyEventSignatures`' `keysFor`). */
export function knownKeysOf(signer: TestSigner, validForMs = 3_600_000): KnownServerKeys {
  return { keys: { valid_until_ts: Date.now() + validForMs, verify_keys: { [signer.key.keyId]: { key: encodeVerifyKey(signer.key, signer.backend) } } } };
}

/**
 * A room built outside any homeserver, event by event, each event signed by the server of
 * its sender (the signers given), citing the auth events the selection algorithm asks for
 * from the room's state and, by default, the previous event: the "other server" of
 * federation tests and of the federation benchmark's load generator.
 */
export class SignedRoom {
  readonly events: SignedEvent[] = [];
  /** The current state, by `formatStateKey`. */
  readonly state = new Map<StateKey, SignedEvent>();
  private clock = Date.now();

  private constructor(
    readonly rules: RoomVersionRules,
    private readonly signers: ReadonlyMap<string, TestSigner>,
    private id: RoomId | undefined,
  ) {}

  get roomId(): RoomId {
    return this.id!;
  }

  /**
   * A public room of `creator` (whose server must be among `signers`): create, the
   * creator's join, power levels (`powers` added to the creator's 100), join rules
   * `public`, history visibility `shared`.
   */
  static create(version: string, creator: string, signers: readonly TestSigner[], powers: Readonly<Record<string, number>> = {}): SignedRoom {
    const rules = getRoomVersionRules(version);
    if (!rules.ok) throw rules.error;
    const server = creator.slice(creator.indexOf(':') + 1);
    const byServer = new Map(signers.map((signer) => [signer.serverName, signer]));
    const v12 = rules.value.authorization.roomIdIsCreateEventId;
    const room = new SignedRoom(rules.value, byServer, v12 ? undefined : (`!${Math.random().toString(36).slice(2, 12)}:${server}` as RoomId));
    const create = room.add({
      type: 'm.room.create',
      state_key: '',
      sender: creator,
      content: rules.value.authorization.useRoomCreateSender ? { room_version: version } : { creator, room_version: version },
    });
    if (v12) room.id = `!${create.eventId.slice(1)}` as RoomId;
    room.add({ type: 'm.room.member', state_key: creator, sender: creator, content: { membership: 'join' } });
    const creatorPower = rules.value.authorization.explicitlyPrivilegeRoomCreators ? {} : { [creator]: 100 };
    room.add({ type: 'm.room.power_levels', state_key: '', sender: creator, content: { users: { ...creatorPower, ...powers }, users_default: 0, events_default: 0, state_default: 50 } });
    room.add({ type: 'm.room.join_rules', state_key: '', sender: creator, content: { join_rule: 'public' } });
    room.add({ type: 'm.room.history_visibility', state_key: '', sender: creator, content: { history_visibility: 'shared' } });
    return room;
  }

  /**
   * A room that exists on a homeserver, known here by its ID only: `adopt` its events
   * (the state and auth chain a `send_join` answers, say) before adding to it.
   */
  static existing(version: string, roomId: string, signers: readonly TestSigner[]): SignedRoom {
    const rules = getRoomVersionRules(version);
    if (!rules.ok) throw rules.error;
    return new SignedRoom(rules.value, new Map(signers.map((signer) => [signer.serverName, signer])), roomId as RoomId);
  }

  /**
   * Builds and signs the next event (not checked against the auth rules: tests build
   * forbidden events on purpose). `prev` defaults to the last event; `state` (the state
   * its auth events come from) to the room's current state, which a state event updates.
   */
  add(event: TestEvent, options: { prev?: readonly SignedEvent[]; state?: ReadonlyMap<StateKey, SignedEvent>; ts?: number } = {}): SignedEvent {
    const signed = this.sign(event, options);
    if (options.state === undefined || options.state === this.state) {
      if (event.state_key !== undefined) this.state.set(formatStateKey(event.type, event.state_key), signed);
    }
    this.events.push(signed);
    return signed;
  }

  /**
   * Builds and signs an event as `add` does, without adding it to the room: an event a
   * test expects a receiving server to refuse.
   */
  sign(event: TestEvent, options: { prev?: readonly SignedEvent[]; state?: ReadonlyMap<StateKey, SignedEvent>; ts?: number } = {}): SignedEvent {
    const rules = this.rules;
    const server = event.sender.slice(event.sender.indexOf(':') + 1);
    const signer = this.signers.get(server);
    if (signer === undefined) throw new Error(`no signer for ${server}`);
    const unsigned: JsonObject = rules.eventFormat.includesEventId ? { ...this.template(event, options), event_id: generateV1EventId(signer.serverName) } : this.template(event, options);
    const mode = getCanonicalJsonMode(rules);
    const pdu = signEvent(unsigned, { serverName: signer.serverName, key: signer.key, backend: signer.backend, redactionRules: rules.redaction, mode });
    const eventId = (rules.eventFormat.includesEventId ? pdu['event_id'] : computeEventId(pdu, rules.eventFormat, rules.redaction)) as EventId;
    return { eventId, pdu, json: encodeCanonicalJson(pdu, { mode }), depth: Number(pdu['depth']) };
  }

  /**
   * Takes an event made elsewhere (by a homeserver under test) into the room, as it is:
   * the next `add` builds on it, and a state event becomes the room's state.
   */
  adopt(pdu: JsonObject): SignedEvent {
    const rules = this.rules;
    const eventId = (rules.eventFormat.includesEventId ? pdu['event_id'] : computeEventId(pdu, rules.eventFormat, rules.redaction)) as EventId;
    const adopted: SignedEvent = { eventId, pdu, json: encodeCanonicalJson(pdu, { mode: getCanonicalJsonMode(rules) }), depth: Number(pdu['depth']) };
    const stateKey = pdu['state_key'];
    if (typeof stateKey === 'string') this.state.set(formatStateKey(pdu['type'] as string, stateKey), adopted);
    this.events.push(adopted);
    return adopted;
  }

  /**
   * The unsigned event `add` would sign (no hashes, signatures or v1 event ID): what a
   * resident server answers `make_join` with. The room does not change.
   */
  template(event: TestEvent, options: { prev?: readonly SignedEvent[]; state?: ReadonlyMap<StateKey, SignedEvent>; ts?: number } = {}): JsonObject {
    const rules = this.rules;
    const prev = options.prev ?? (this.events.length === 0 ? [] : [this.events.at(-1)!]);
    const state = options.state ?? this.state;
    const auth = selectAuthEventKeys(event, rules.authorization)
      .map((key) => state.get(key))
      .filter((e): e is SignedEvent => e !== undefined && !(e.pdu['type'] === 'm.room.create' && rules.authorization.roomIdIsCreateEventId));
    const reference = (e: SignedEvent): EventReference => (rules.eventFormat.referencesWithHashes ? { eventId: e.eventId, hashes: e.pdu['hashes'] as never } : { eventId: e.eventId });
    const isV12Create = event.type === 'm.room.create' && rules.authorization.roomIdIsCreateEventId;
    const built = buildPdu(
      {
        ...(isV12Create ? {} : { roomId: this.roomId }),
        sender: event.sender as UserId,
        type: event.type,
        ...(event.state_key === undefined ? {} : { stateKey: event.state_key }),
        content: event.content,
        prevEvents: prev.map(reference),
        authEvents: auth.map(reference),
        depth: prev.reduce((max, e) => Math.max(max, e.depth), 0) + 1,
        originServerTs: options.ts ?? this.clock++,
      },
      rules.eventFormat,
    );
    if (!built.ok) throw new Error(built.error);
    return { ...built.value };
  }

  /** The state events now, in the order they were added. */
  stateEvents(): SignedEvent[] {
    return this.events.filter((e) => {
      const type = e.pdu['type'] as string;
      const stateKey = e.pdu['state_key'];
      return typeof stateKey === 'string' && this.state.get(formatStateKey(type, stateKey)) === e;
    });
  }

  /** A copy of the current state, to build events on a branch. */
  snapshot(): Map<StateKey, SignedEvent> {
    return new Map(this.state);
  }
}
