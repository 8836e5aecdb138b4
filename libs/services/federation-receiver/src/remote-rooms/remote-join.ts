import { remoteEventRequestId } from '@axon/contracts-kafka';
import { encodeCanonicalJson, type JsonObject, type JsonValue } from '@axon/matrix-canonical-json';
import { isJsonObject } from '@axon/matrix-events';
import { MatrixError } from '@axon/matrix-errors';
import type { EventId, RoomId, ServerName, UserId } from '@axon/matrix-identifiers';
import { getCanonicalJsonMode, getRoomVersionRules, ROOM_VERSIONS, type RoomVersionRules } from '@axon/matrix-room-versions';
import { computeEventId, generateV1EventId, signEvent, type Ed25519Backend, type SigningKey } from '@axon/matrix-signing';
import type { Logger } from '@axon/platform-telemetry';
import { inAuthOrder, type RoomInputs } from '../pdus/pdu-ingest';
import { checkReceivedPdu, type CheckedPdu, type EventKeySource } from '../pdus/received-pdu';

/** The requests a membership handshake makes (through the federation client). */
export interface MembershipRequests {
  get(destination: ServerName, path: string): Promise<JsonValue>;
  put(destination: ServerName, path: string, body: JsonObject, options?: { maxResponseBytes?: number }): Promise<JsonValue>;
}

/** Who signs for this server. */
export interface LocalSigner {
  readonly serverName: ServerName;
  readonly key: SigningKey;
  readonly backend: Ed25519Backend;
}

/** A `send_join` answer may carry a big room's whole state and auth chain. */
const SEND_JOIN_MAX_BYTES = 256 * 1024 * 1024;

export const membershipPath = (kind: 'make_join' | 'make_leave' | 'make_knock', roomId: RoomId, userId: UserId): string =>
  `/_matrix/federation/v1/${kind}/${encodeURIComponent(roomId)}/${encodeURIComponent(userId)}`;

/** The unsigned event of a `make_*` answer, completed and signed by this server. */
export function completeTemplate(template: JsonObject, content: JsonObject, rules: RoomVersionRules, signer: LocalSigner, now: number): { pdu: JsonObject; eventId: EventId } {
  const base = isJsonObject(template['content']) ? template['content'] : {};
  const unsigned: JsonObject = { ...template, content: { ...base, ...content }, origin_server_ts: now };
  delete unsigned['signatures'];
  delete unsigned['hashes'];
  delete unsigned['unsigned'];
  if (rules.eventFormat.includesEventId) unsigned['event_id'] = generateV1EventId(signer.serverName);
  const pdu = signEvent(unsigned, { serverName: signer.serverName, key: signer.key, backend: signer.backend, redactionRules: rules.redaction, mode: getCanonicalJsonMode(rules) });
  const eventId = (rules.eventFormat.includesEventId ? pdu['event_id'] : computeEventId(pdu, rules.eventFormat, rules.redaction)) as EventId;
  return { pdu, eventId };
}

/**
 * A local user joining a room this server is not in, through servers that are:
 * `make_join` (the room's version and an event template), the template completed and
 * signed, `send_join` v2 (the room's state before the join and its auth chain, and for a
 * restricted join the event with the authorising server's signature), every returned
 * event checked as received PDUs are, and the join handed to the room server with that
 * state (`remote_event` with `state_before`; the room is created here when new). The
 * servers are tried in order until one succeeds.
 *
 * Spec: https://spec.matrix.org/v1.19/server-server-api/#joining-rooms
 */
export class RemoteJoin {
  constructor(
    private readonly requests: MembershipRequests,
    private readonly keys: EventKeySource,
    private readonly inputs: RoomInputs,
    private readonly signer: LocalSigner,
    private readonly logger: Pick<Logger, 'warn'>,
    private readonly now: () => number = Date.now,
  ) {}

  async join(userId: UserId, roomId: RoomId, servers: readonly ServerName[], content: JsonObject): Promise<EventId> {
    const candidates = servers.filter((server) => server !== this.signer.serverName);
    if (candidates.length === 0) throw new MatrixError('M_NOT_FOUND', `no server to join ${roomId} through`, 404);
    let last: unknown;
    for (const server of candidates) {
      try {
        return await this.joinThrough(server, userId, roomId, content);
      } catch (error) {
        last = error;
        this.logger.warn({ server, roomId, err: error }, 'joining through this server failed');
        // The room refused the user: other servers of the room would refuse too.
        if (error instanceof MatrixError && error.errcode === 'M_FORBIDDEN') throw error;
      }
    }
    if (last instanceof MatrixError) throw last;
    throw new MatrixError('M_UNKNOWN', `could not join ${roomId} through ${candidates.join(', ')}`, 502);
  }

  private async joinThrough(server: ServerName, userId: UserId, roomId: RoomId, content: JsonObject): Promise<EventId> {
    const versions = ROOM_VERSIONS.map((v) => `ver=${encodeURIComponent(v.id)}`).join('&');
    const made = await this.requests.get(server, `${membershipPath('make_join', roomId, userId)}?${versions}`);
    if (!isJsonObject(made) || !isJsonObject(made['event'])) throw new MatrixError('M_BAD_JSON', `make_join from ${server} has no event`, 502);
    const version = typeof made['room_version'] === 'string' ? made['room_version'] : '1';
    const rules = getRoomVersionRules(version);
    if (!rules.ok) throw new MatrixError('M_UNSUPPORTED_ROOM_VERSION', `room ${roomId} has version ${version}, unknown here`, 400);
    const template = made['event'];
    if (template['room_id'] !== roomId || template['sender'] !== userId || template['state_key'] !== userId || template['type'] !== 'm.room.member') {
      throw new MatrixError('M_BAD_JSON', `make_join from ${server} answered a template for another event`, 502);
    }
    const { pdu, eventId } = completeTemplate(template, { ...content, membership: 'join' }, rules.value, this.signer, this.now());
    const answer = await this.requests.put(server, `/_matrix/federation/v2/send_join/${encodeURIComponent(roomId)}/${encodeURIComponent(eventId)}`, pdu, { maxResponseBytes: SEND_JOIN_MAX_BYTES });
    if (!isJsonObject(answer) || !Array.isArray(answer['state']) || !Array.isArray(answer['auth_chain'])) throw new MatrixError('M_BAD_JSON', `send_join from ${server} has no state`, 502);
    // A restricted join comes back signed by the authorising server too: the same event.
    let joinJson = encodeCanonicalJson(pdu, { mode: getCanonicalJsonMode(rules.value) });
    if (isJsonObject(answer['event'])) {
      const returned = await checkReceivedPdu(answer['event'], rules.value, this.keys, this.signer.backend);
      if (!returned.ok || returned.value.eventId !== eventId) throw new MatrixError('M_BAD_JSON', `send_join from ${server} returned another event`, 502);
      joinJson = returned.value.pduJson;
    }
    const state = await this.checkAll(answer['state'], rules.value, roomId);
    const authChain = await this.checkAll(answer['auth_chain'], rules.value, roomId);
    const create = state.find((event) => event.pdu.type === 'm.room.create' && event.pdu['state_key'] === '');
    const createdAs = create === undefined || !isJsonObject(create.pdu.content) ? undefined : (create.pdu.content['room_version'] ?? '1');
    if (createdAs !== version) throw new MatrixError('M_BAD_JSON', `send_join from ${server}: the room's create event does not say version ${version}`, 502);
    const outliers = inAuthOrder([...new Map([...authChain, ...state].map((event) => [event.eventId, event])).values()]);
    await this.inputs.submit({
      kind: 'remote_event',
      request_id: remoteEventRequestId(eventId),
      room_id: roomId,
      origin: server,
      pdu_json: joinJson,
      outliers: outliers.map((event) => event.pduJson),
      state_before: state.map((event) => event.eventId),
      room_version: version,
    });
    return eventId;
  }

  /** Every event of a `send_join` answer, checked as a received PDU; those that fail are left out (the room server then refuses what needs them). */
  private async checkAll(values: readonly JsonValue[], rules: RoomVersionRules, roomId: RoomId): Promise<CheckedPdu[]> {
    const checked: CheckedPdu[] = [];
    for (const value of values) {
      const result = await checkReceivedPdu(value, rules, this.keys, this.signer.backend);
      const isCreateV12 = result.ok && result.value.pdu.type === 'm.room.create' && rules.authorization.roomIdIsCreateEventId;
      if (result.ok && (result.value.roomId === roomId || isCreateV12)) checked.push(result.value);
      else this.logger.warn({ roomId, reason: result.ok ? 'another room' : result.reason }, 'send_join: an event of the answer is left out');
    }
    return checked;
  }
}

