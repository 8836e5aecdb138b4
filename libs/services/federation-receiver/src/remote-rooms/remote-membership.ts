import { remoteEventRequestId } from '@axon/contracts-kafka';
import { encodeCanonicalJson, type JsonObject, type JsonValue } from '@axon/matrix-canonical-json';
import { MatrixError } from '@axon/matrix-errors';
import { isJsonObject } from '@axon/matrix-events';
import type { EventId, RoomId, ServerName, UserId } from '@axon/matrix-identifiers';
import { getCanonicalJsonMode, getRoomVersionRules, type RoomVersionRules } from '@axon/matrix-room-versions';
import type { Logger } from '@axon/platform-telemetry';
import type { RoomInputs } from '../pdus/pdu-ingest';
import { checkReceivedPdu, type EventKeySource } from '../pdus/received-pdu';
import type { RoomQuery } from '../rooms/room-access';
import type { MembershipHandshake } from '../serving/membership-handshake';
import { completeTemplate, membershipPath, type LocalSigner, type MembershipRequests } from './remote-join';

/**
 * The memberships a local user takes in rooms through other servers, besides joining:
 * inviting a user of another server (`invite` v2: the invite built and signed here, then
 * signed by the invited user's server before the room takes it), and leaving or knocking
 * through a resident server (`make_leave`/`send_leave` v2, `make_knock`/`send_knock`) when
 * this server is not in the room (rejecting an invite, knocking), the result taken out of
 * band.
 *
 * Spec: https://spec.matrix.org/v1.19/server-server-api/#inviting-to-a-room
 */
export class RemoteMembership {
  constructor(
    private readonly requests: MembershipRequests,
    private readonly query: Pick<RoomQuery, 'buildEventTemplate'>,
    private readonly handshake: Pick<MembershipHandshake, 'strippedState'>,
    private readonly keys: EventKeySource,
    private readonly inputs: RoomInputs,
    private readonly signer: LocalSigner,
    private readonly logger: Pick<Logger, 'warn'>,
    private readonly now: () => number = Date.now,
  ) {}

  /** `sender` (local) invites `target` (of another server) to a room this server is in. */
  async invite(roomId: RoomId, sender: UserId, target: UserId, content: JsonObject): Promise<EventId> {
    const { roomVersion, templateJson } = await this.query.buildEventTemplate({
      roomId,
      type: 'm.room.member',
      stateKey: target,
      sender,
      contentJson: JSON.stringify({ ...content, membership: 'invite' }),
    });
    const rules = this.rulesOf(roomVersion);
    const { pdu, eventId } = completeTemplate(JSON.parse(templateJson) as JsonObject, {}, rules, this.signer, this.now());
    const server = target.slice(target.indexOf(':') + 1) as ServerName;
    const answer = await this.requests.put(server, `/_matrix/federation/v2/invite/${encodeURIComponent(roomId)}/${encodeURIComponent(eventId)}`, {
      event: pdu,
      room_version: roomVersion,
      invite_room_state: (await this.handshake.strippedState(roomId)) as JsonValue[],
    });
    if (!isJsonObject(answer) || !isJsonObject(answer['event'])) throw new MatrixError('M_BAD_JSON', `invite: ${server} answered no event`, 502);
    const returned = await checkReceivedPdu(answer['event'], rules, this.keys, this.signer.backend);
    if (!returned.ok || returned.value.eventId !== eventId) throw new MatrixError('M_BAD_JSON', `invite: ${server} answered another event`, 502);
    await this.inputs.submit({ kind: 'remote_event', request_id: remoteEventRequestId(eventId), room_id: roomId, origin: this.signer.serverName, pdu_json: returned.value.pduJson });
    return eventId;
  }

  /** A local user leaves (rejects an invite, withdraws a knock) a room this server is not in, through `servers`. */
  leave(userId: UserId, roomId: RoomId, servers: readonly ServerName[], content: JsonObject): Promise<EventId> {
    return this.through(servers, roomId, async (server) => {
      const made = await this.make(server, 'make_leave', roomId, userId, '');
      const { pdu, eventId } = completeTemplate(made.template, { ...content, membership: 'leave' }, made.rules, this.signer, this.now());
      await this.requests.put(server, `/_matrix/federation/v2/send_leave/${encodeURIComponent(roomId)}/${encodeURIComponent(eventId)}`, pdu);
      await this.takeOutOfBand(server, roomId, made.version, made.rules, pdu, eventId, {});
      return eventId;
    });
  }

  /** A local user knocks on a room of other servers, through `servers`. */
  knock(userId: UserId, roomId: RoomId, servers: readonly ServerName[], content: JsonObject): Promise<EventId> {
    return this.through(servers, roomId, async (server) => {
      const made = await this.make(server, 'make_knock', roomId, userId, `?${['7', '8', '9', '10', '11', '12'].map((v) => `ver=${v}`).join('&')}`);
      const { pdu, eventId } = completeTemplate(made.template, { ...content, membership: 'knock' }, made.rules, this.signer, this.now());
      const answer = await this.requests.put(server, `/_matrix/federation/v1/send_knock/${encodeURIComponent(roomId)}/${encodeURIComponent(eventId)}`, pdu);
      const stripped = isJsonObject(answer) && Array.isArray(answer['knock_room_state']) ? answer['knock_room_state'] : [];
      await this.takeOutOfBand(server, roomId, made.version, made.rules, pdu, eventId, { knock_room_state: stripped });
      return eventId;
    });
  }

  private async make(server: ServerName, kind: 'make_leave' | 'make_knock', roomId: RoomId, userId: UserId, query: string): Promise<{ version: string; rules: RoomVersionRules; template: JsonObject }> {
    const made = await this.requests.get(server, `${membershipPath(kind, roomId, userId)}${query}`);
    if (!isJsonObject(made) || !isJsonObject(made['event'])) throw new MatrixError('M_BAD_JSON', `${kind} from ${server} has no event`, 502);
    const version = typeof made['room_version'] === 'string' ? made['room_version'] : '1';
    const template = made['event'];
    if (template['room_id'] !== roomId || template['sender'] !== userId || template['state_key'] !== userId) throw new MatrixError('M_BAD_JSON', `${kind} from ${server} answered a template for another event`, 502);
    return { version, rules: this.rulesOf(version), template };
  }

  private async takeOutOfBand(origin: ServerName, roomId: RoomId, version: string, rules: RoomVersionRules, pdu: JsonObject, eventId: EventId, state: { knock_room_state?: JsonValue[] }): Promise<void> {
    await this.inputs.submit({
      kind: 'remote_event',
      request_id: remoteEventRequestId(eventId),
      room_id: roomId,
      origin,
      pdu_json: encodeCanonicalJson(pdu, { mode: getCanonicalJsonMode(rules) }),
      room_version: version,
      out_of_band: state,
    });
  }

  private async through(servers: readonly ServerName[], roomId: RoomId, attempt: (server: ServerName) => Promise<EventId>): Promise<EventId> {
    const candidates = servers.filter((server) => server !== this.signer.serverName);
    if (candidates.length === 0) throw new MatrixError('M_NOT_FOUND', `no server to reach ${roomId} through`, 404);
    let last: unknown;
    for (const server of candidates) {
      try {
        return await attempt(server);
      } catch (error) {
        last = error;
        this.logger.warn({ server, roomId, err: error }, 'a membership change through this server failed');
        if (error instanceof MatrixError && error.errcode === 'M_FORBIDDEN') throw error;
      }
    }
    if (last instanceof MatrixError) throw last;
    throw new MatrixError('M_UNKNOWN', `could not reach ${roomId} through ${candidates.join(', ')}`, 502);
  }

  private rulesOf(version: string): RoomVersionRules {
    const rules = getRoomVersionRules(version);
    if (!rules.ok) throw new MatrixError('M_UNSUPPORTED_ROOM_VERSION', `room version ${version} is unknown here`, 400);
    return rules.value;
  }
}
