import { PREV_EVENTS_UNKNOWN, remoteEventRequestId } from '@axon/contracts-kafka';
import { encodeCanonicalJson, type JsonObject, type JsonValue } from '@axon/matrix-canonical-json';
import { MatrixError } from '@axon/matrix-errors';
import { isJsonObject } from '@axon/matrix-events';
import type { RoomId, ServerName } from '@axon/matrix-identifiers';
import { getCanonicalJsonMode, getRoomVersionRules } from '@axon/matrix-room-versions';
import { signEvent } from '@axon/matrix-signing';
import type { RoomInputs } from '../pdus/pdu-ingest';
import { checkReceivedPdu, type EventKeySource } from '../pdus/received-pdu';
import type { LocalSigner } from '../remote-rooms/remote-join';
import { serverOfUser, type RoomAccess } from '../rooms/room-access';

/**
 * `PUT /_matrix/federation/v2/invite/{roomId}/{eventId}`: another server invites a user
 * of this one. The invite is checked as a received PDU and as the spec lists (an invite
 * of a local user, sent by a user of the origin), signed by this server and answered;
 * the room server takes it out of band when this server is not in the room (it then
 * has none of the room's events), keeping the stripped state it came with for the
 * invited user's `/sync`.
 *
 * Spec: https://spec.matrix.org/v1.19/server-server-api/#put_matrixfederationv2inviteroomideventid
 */
export class InviteReception {
  constructor(
    private readonly access: Pick<RoomAccess, 'versionOf' | 'aclAllows'>,
    private readonly inputs: RoomInputs,
    private readonly keys: EventKeySource,
    private readonly signer: LocalSigner,
  ) {}

  async receive(origin: ServerName, roomId: RoomId, eventId: string, body: Readonly<Record<string, unknown>>): Promise<{ event: JsonObject }> {
    const version = body['room_version'];
    if (typeof version !== 'string') throw new MatrixError('M_MISSING_PARAM', 'room_version is required', 400);
    const rules = getRoomVersionRules(version);
    if (!rules.ok) throw new MatrixError('M_INCOMPATIBLE_ROOM_VERSION', `room version ${version} is not supported here`, 400, { room_version: version });
    const checked = await checkReceivedPdu(body['event'] as JsonValue, rules.value, this.keys, this.signer.backend);
    const invalid = (reason: string): MatrixError => new MatrixError('M_INVALID_PARAM', reason, 400);
    if (!checked.ok) throw invalid(checked.reason);
    const { pdu } = checked.value;
    if (checked.value.eventId !== eventId || checked.value.roomId !== roomId) throw invalid('the event is not the one the path names');
    if (pdu.type !== 'm.room.member' || !isJsonObject(pdu.content) || pdu.content['membership'] !== 'invite') throw invalid('the event is not an invite');
    const invitee = pdu['state_key'];
    if (typeof invitee !== 'string' || serverOfUser(invitee) !== this.signer.serverName) throw invalid('the invited user is not a user of this server');
    if (serverOfUser(pdu.sender) !== origin) throw invalid(`the sender is not a user of ${origin}`);
    if ((await this.access.versionOf(roomId)) !== undefined && !(await this.access.aclAllows(roomId, origin))) {
      throw new MatrixError('M_FORBIDDEN', `server ${origin} is denied by the room's server ACL`, 403);
    }
    const mode = getCanonicalJsonMode(rules.value);
    const signed = signEvent(pdu as JsonObject, { serverName: this.signer.serverName, key: this.signer.key, backend: this.signer.backend, redactionRules: rules.value.redaction, mode });
    const stripped = Array.isArray(body['invite_room_state']) ? body['invite_room_state'] : [];
    try {
      await this.inputs.submit({
        kind: 'remote_event',
        request_id: remoteEventRequestId(eventId),
        room_id: roomId,
        origin,
        pdu_json: encodeCanonicalJson(signed, { mode }),
        room_version: version,
        out_of_band: { invite_room_state: stripped },
      });
    } catch (error) {
      // In a room this server is in, the invite comes in a transaction too, once its prev
      // events can be had: it is answered here all the same.
      if (!(error instanceof MatrixError)) throw error;
      if (!(error.errcode === 'M_NOT_FOUND' && error.message.startsWith(PREV_EVENTS_UNKNOWN))) throw new MatrixError('M_FORBIDDEN', error.message, 403);
    }
    return { event: signed };
  }
}
