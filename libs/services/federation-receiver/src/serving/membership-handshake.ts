import { remoteEventRequestId } from '@axon/contracts-kafka';
import type { JsonObject, JsonValue } from '@axon/matrix-canonical-json';
import { MatrixError } from '@axon/matrix-errors';
import { isJsonObject } from '@axon/matrix-events';
import type { RoomId, ServerName, UserId } from '@axon/matrix-identifiers';
import { getCanonicalJsonMode, getRoomVersionRules, type RoomVersionRules } from '@axon/matrix-room-versions';
import { checkContentHash, signEvent } from '@axon/matrix-signing';
import type { RoomInputs } from '../pdus/pdu-ingest';
import { checkReceivedPdu, type EventKeySource } from '../pdus/received-pdu';
import type { LocalSigner } from '../remote-rooms/remote-join';
import { serverOfUser, type RoomAccess, type RoomQuery } from '../rooms/room-access';

export type Membership = 'join' | 'leave' | 'knock';

const pdusOf = (events: ReadonlyArray<{ pduJson: string }>): JsonValue[] => events.map((event) => JSON.parse(event.pduJson) as JsonValue);

/** A state event's content from a `RoomQuery` answer. */
function contentOf(events: ReadonlyArray<{ pduJson: string }>, type: string, stateKey = ''): JsonObject | undefined {
  for (const event of events) {
    const pdu = JSON.parse(event.pduJson) as JsonObject;
    if (pdu['type'] === type && pdu['state_key'] === stateKey && isJsonObject(pdu['content'])) return pdu['content'];
  }
  return undefined;
}

/**
 * The resident side of the membership handshakes: `make_join`/`make_leave`/`make_knock`
 * answer an unsigned event for the other server's user on the room's forward
 * extremities; `send_join`/`send_leave`/`send_knock` take the signed event back, check it
 * as the spec lists and as any received PDU, and hand it to the room server (a join of a
 * restricted room signed here too, as the authorising server). A join is answered with
 * the room's state before it and its auth chain; a knock with the room's stripped state.
 *
 * Spec: https://spec.matrix.org/v1.19/server-server-api/#joining-rooms
 */
export class MembershipHandshake {
  constructor(
    private readonly query: Pick<RoomQuery, 'buildEventTemplate' | 'getCurrentState' | 'getMembership' | 'getStateAtEvent' | 'getAuthChain' | 'getEvents'>,
    private readonly access: Pick<RoomAccess, 'versionOf' | 'requireAllowed'>,
    private readonly inputs: RoomInputs,
    private readonly keys: EventKeySource,
    private readonly signer: LocalSigner,
  ) {}

  /** `GET /make_{membership}/{roomId}/{userId}`. */
  async make(origin: ServerName, roomId: RoomId, userId: UserId, membership: Membership, supportedVersions: readonly string[]): Promise<{ room_version: string; event: JsonObject }> {
    if (serverOfUser(userId) !== origin) throw new MatrixError('M_FORBIDDEN', `${userId} is not a user of ${origin}`, 403);
    const version = await this.access.versionOf(roomId);
    if (version === undefined) throw new MatrixError('M_NOT_FOUND', `unknown room ${roomId}`, 404);
    await this.access.requireAllowed(roomId, origin);
    const rules = this.rulesOf(version);
    if (membership !== 'leave' && !supportedVersions.includes(version)) {
      throw new MatrixError('M_INCOMPATIBLE_ROOM_VERSION', `the room has version ${version}, which the joining server does not support`, 400, { room_version: version });
    }
    if (membership === 'knock' && !rules.authorization.knocking) throw new MatrixError('M_INCOMPATIBLE_ROOM_VERSION', `room version ${version} has no knocking`, 400, { room_version: version });
    const content: JsonObject = { membership };
    if (membership === 'join') {
      const authoriser = await this.restrictedJoinAuthoriser(roomId, userId, rules);
      if (authoriser !== undefined) content['join_authorised_via_users_server'] = authoriser;
    }
    const { roomVersion, templateJson } = await this.query.buildEventTemplate({ roomId, type: 'm.room.member', stateKey: userId, sender: userId, contentJson: JSON.stringify(content) });
    return { room_version: roomVersion, event: JSON.parse(templateJson) as JsonObject };
  }

  /**
   * For a join of a restricted room by a user not invited nor joined: a local user who
   * may invite, to authorise it, once the user is seen joined to one of the rooms the
   * join rules allow (rooms unknown here cannot be checked).
   *
   * Spec: https://spec.matrix.org/v1.19/server-server-api/#restricted-rooms
   */
  private async restrictedJoinAuthoriser(roomId: RoomId, userId: UserId, rules: RoomVersionRules): Promise<UserId | undefined> {
    const { events } = await this.query.getCurrentState({ roomId, types: ['m.room.join_rules', 'm.room.power_levels', 'm.room.member', 'm.room.create'] });
    const joinRules = contentOf(events, 'm.room.join_rules');
    const rule = joinRules?.['join_rule'];
    if (!((rule === 'restricted' && rules.authorization.restrictedJoinRule) || (rule === 'knock_restricted' && rules.authorization.knockRestrictedJoinRule))) return undefined;
    const current = contentOf(events, 'm.room.member', userId)?.['membership'];
    if (current === 'join' || current === 'invite') return undefined;
    const allowed = (Array.isArray(joinRules?.['allow']) ? joinRules['allow'] : [])
      .filter((entry): entry is JsonObject => isJsonObject(entry) && entry['type'] === 'm.room_membership' && typeof entry['room_id'] === 'string')
      .map((entry) => entry['room_id'] as string);
    let known = false;
    let satisfied = false;
    for (const allowedRoom of allowed) {
      if ((await this.access.versionOf(allowedRoom as RoomId)) === undefined) continue;
      known = true;
      if ((await this.query.getMembership({ roomId: allowedRoom, userId })).membership === 'join') satisfied = true;
    }
    if (!known) throw new MatrixError('M_UNABLE_TO_AUTHORISE_JOIN', 'this server cannot check any of the rooms the join rules allow', 400);
    if (!satisfied) throw new MatrixError('M_FORBIDDEN', `${userId} is not in any of the rooms the join rules allow`, 403);
    const powers = contentOf(events, 'm.room.power_levels');
    const inviteLevel = typeof powers?.['invite'] === 'number' ? powers['invite'] : 0;
    const users = isJsonObject(powers?.['users']) ? powers['users'] : {};
    const usersDefault = typeof powers?.['users_default'] === 'number' ? powers['users_default'] : 0;
    const creator = (contentOf(events, 'm.room.create') ?? {})['creator'];
    for (const event of events) {
      const pdu = JSON.parse(event.pduJson) as JsonObject;
      const member = pdu['state_key'];
      if (pdu['type'] !== 'm.room.member' || typeof member !== 'string' || serverOfUser(member) !== this.signer.serverName) continue;
      if (!isJsonObject(pdu['content']) || pdu['content']['membership'] !== 'join') continue;
      const level = typeof users[member] === 'number' ? (users[member] as number) : powers === undefined && member === creator ? 100 : usersDefault;
      if (level >= inviteLevel) return member as UserId;
    }
    throw new MatrixError('M_UNABLE_TO_GRANT_JOIN', 'no user of this server may authorise the join; try another server', 400);
  }

  /** `PUT /send_{membership}/{roomId}/{eventId}`: the event checked, stored, and the answer for a join. */
  async send(origin: ServerName, roomId: RoomId, eventId: string, body: unknown, membership: Membership): Promise<{ event: JsonObject; state?: JsonValue[]; authChain?: JsonValue[]; strippedState?: JsonValue[] }> {
    const version = await this.access.versionOf(roomId);
    if (version === undefined) throw new MatrixError('M_NOT_FOUND', `unknown room ${roomId}`, 404);
    await this.access.requireAllowed(roomId, origin);
    const rules = this.rulesOf(version);
    const invalid = (reason: string): MatrixError => new MatrixError('M_INVALID_PARAM', reason, 400);
    const checked = await checkReceivedPdu(this.authorised(body, membership, rules), rules, this.keys, this.signer.backend);
    if (!checked.ok) throw invalid(checked.reason);
    const { pdu } = checked.value;
    if (checked.value.eventId !== eventId) throw invalid(`the event's ID is ${checked.value.eventId}, not ${eventId}`);
    if (checked.value.roomId !== roomId) throw invalid(`the event is not in room ${roomId}`);
    if (pdu.type !== 'm.room.member') throw invalid('the event is not an m.room.member event');
    if (!isJsonObject(pdu.content) || pdu.content['membership'] !== membership) throw invalid(`the event's membership is not ${membership}`);
    if (pdu['state_key'] !== pdu.sender) throw invalid('the state_key is not the sender');
    if (serverOfUser(pdu.sender) !== origin) throw invalid(`the sender is not a user of ${origin}`);
    const pduJson = checked.value.pduJson;
    const event = pdu as JsonObject;
    try {
      // This server, the resident, sends the event on to the room's other servers.
      await this.inputs.submit({ kind: 'remote_event', request_id: remoteEventRequestId(eventId), room_id: roomId, origin, pdu_json: pduJson, relay: true });
    } catch (error) {
      if (error instanceof MatrixError && error.errcode === 'M_FORBIDDEN') throw new MatrixError('M_FORBIDDEN', error.message, 403);
      throw error;
    }
    if (membership === 'join') {
      const state = (await this.query.getStateAtEvent({ eventId, after: false })).events;
      const authChain = (await this.query.getAuthChain({ eventIds: [...state.map((e) => e.eventId), eventId] })).events;
      return { event, state: pdusOf(state), authChain: pdusOf(authChain) };
    }
    if (membership === 'knock') return { event, strippedState: await this.strippedState(roomId) };
    return { event };
  }

  /**
   * A restricted join authorised by a user of this server must carry this server's
   * signature too (room version 8 on): added before the event is checked, as the
   * authorising server does, when its content hash holds (this server signs only what
   * the joining server hashed).
   *
   * Spec: https://spec.matrix.org/v1.19/server-server-api/#restricted-rooms
   */
  private authorised(body: unknown, membership: Membership, rules: RoomVersionRules): JsonValue {
    if (membership !== 'join' || !isJsonObject(body as JsonValue) || !isJsonObject((body as JsonObject)['content'])) return body as JsonValue;
    const authoriser = ((body as JsonObject)['content'] as JsonObject)['join_authorised_via_users_server'];
    if (typeof authoriser !== 'string' || serverOfUser(authoriser) !== this.signer.serverName) return body as JsonValue;
    const mode = getCanonicalJsonMode(rules);
    if (checkContentHash(body as JsonObject, { mode }) !== 'match') return body as JsonValue;
    return signEvent(body as JsonObject, { serverName: this.signer.serverName, key: this.signer.key, backend: this.signer.backend, redactionRules: rules.redaction, mode });
  }

  /** The state a knocking or invited user may see of the room before being in it. */
  async strippedState(roomId: RoomId): Promise<JsonValue[]> {
    const types = ['m.room.create', 'm.room.join_rules', 'm.room.name', 'm.room.avatar', 'm.room.canonical_alias', 'm.room.encryption', 'm.room.topic'];
    const { events } = await this.query.getCurrentState({ roomId, types });
    return events.map((event) => {
      const pdu = JSON.parse(event.pduJson) as JsonObject;
      return { type: pdu['type'], state_key: pdu['state_key'], sender: pdu['sender'], content: pdu['content'] } as JsonValue;
    });
  }

  private rulesOf(version: string): RoomVersionRules {
    const rules = getRoomVersionRules(version);
    if (!rules.ok) throw new MatrixError('M_UNSUPPORTED_ROOM_VERSION', `room version ${version} is unknown here`, 400);
    return rules.value;
  }
}
