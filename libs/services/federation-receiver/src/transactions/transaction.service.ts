import type { JsonValue } from '@axon/matrix-canonical-json';
import { MatrixError } from '@axon/matrix-errors';
import { isJsonObject } from '@axon/matrix-events';
import type { RoomId, ServerName } from '@axon/matrix-identifiers';
import { getRoomVersionRules } from '@axon/matrix-room-versions';
import type { Logger } from '@axon/platform-telemetry';
import type { PduIngest } from '../pdus/pdu-ingest';
import { nameReceivedPdu } from '../pdus/received-pdu';
import type { RoomAccess } from '../rooms/room-access';
import type { ReceivedTransactionsRepository } from '../storage/received-transactions.repository';
import type { EduIntake } from './edu-intake';

/** The answer to `PUT /send/{txnId}`: each PDU's outcome by event ID (`{}`, or `{error}`). */
export interface TransactionAnswer {
  readonly pdus: Record<string, { error?: string }>;
}

/** A transaction carries at most this many PDUs and EDUs (spec: "Transactions"). */
export const MAX_TRANSACTION_PDUS = 50;
export const MAX_TRANSACTION_EDUS = 100;

/**
 * A received transaction (`PUT /_matrix/federation/v1/send/{txnId}`), after its request
 * signature was checked: answered once per origin and transaction ID (a transaction sent
 * again gets the recorded answer and changes nothing); its PDUs taken room by room, each
 * room's in the order sent and rooms side by side, the answer given only once the room
 * server has the outcome of every PDU (so it is durable); its EDUs taken alongside. A PDU
 * of a room unknown here, or of a room whose ACL denies the origin, is answered with an
 * error and goes no further.
 *
 * Spec: https://spec.matrix.org/v1.19/server-server-api/#put_matrixfederationv1sendtxnid
 */
export class TransactionService {
  constructor(
    private readonly transactions: Pick<ReceivedTransactionsRepository, 'answerOf' | 'record'>,
    private readonly access: Pick<RoomAccess, 'versionOf' | 'aclAllows'>,
    private readonly pdus: Pick<PduIngest, 'ingest'>,
    private readonly edus: Pick<EduIntake, 'take'>,
    private readonly logger: Pick<Logger, 'info' | 'warn'>,
    private readonly now: () => number = Date.now,
  ) {}

  async receive(origin: ServerName, txnId: string, body: Readonly<Record<string, unknown>>): Promise<TransactionAnswer> {
    const pdus = body['pdus'];
    const edus = body['edus'] ?? [];
    if (!Array.isArray(pdus)) throw new MatrixError('M_BAD_JSON', 'pdus must be an array', 400);
    if (!Array.isArray(edus)) throw new MatrixError('M_BAD_JSON', 'edus must be an array', 400);
    if (pdus.length > MAX_TRANSACTION_PDUS || edus.length > MAX_TRANSACTION_EDUS) {
      throw new MatrixError('M_BAD_JSON', `a transaction carries at most ${MAX_TRANSACTION_PDUS} PDUs and ${MAX_TRANSACTION_EDUS} EDUs`, 400);
    }
    const recorded = await this.transactions.answerOf(origin, txnId);
    if (recorded !== undefined) return JSON.parse(recorded) as TransactionAnswer;

    const byRoom = new Map<string, JsonValue[]>();
    for (const pdu of pdus as JsonValue[]) {
      const roomId = isJsonObject(pdu) ? pdu['room_id'] : undefined;
      // Without a room, nothing says which format the event is in: it cannot even be named.
      if (typeof roomId === 'string') byRoom.set(roomId, [...(byRoom.get(roomId) ?? []), pdu]);
    }
    const answer: TransactionAnswer = { pdus: {} };
    await Promise.all([
      ...[...byRoom].map(([roomId, events]) => this.takeRoom(origin, roomId as RoomId, events, answer)),
      this.edus.take(origin, edus),
    ]);
    await this.transactions.record(origin, txnId, JSON.stringify(answer), this.now());
    const failed = Object.values(answer.pdus).filter((result) => result.error !== undefined).length;
    this.logger.info({ origin, txnId, pdus: pdus.length, failed, edus: edus.length }, 'transaction received');
    return answer;
  }

  private async takeRoom(origin: ServerName, roomId: RoomId, events: readonly JsonValue[], answer: TransactionAnswer): Promise<void> {
    const version = await this.access.versionOf(roomId);
    const rules = version === undefined ? undefined : getRoomVersionRules(version);
    // A room this server is not in: the events cannot be checked (not even named in
    // formats whose IDs are hashes), and are dropped, as Synapse drops them.
    if (rules === undefined || !rules.ok) {
      this.logger.warn({ origin, roomId, events: events.length }, 'PDUs of a room unknown here dropped');
      return;
    }
    const denied = !(await this.access.aclAllows(roomId, origin));
    for (const event of events) {
      if (denied) {
        const id = nameReceivedPdu(event, rules.value);
        if (id !== undefined) answer.pdus[id] = { error: `server ${origin} is denied by the room's server ACL` };
        continue;
      }
      const { eventId, outcome } = await this.pdus.ingest(origin, roomId, rules.value, event);
      if (eventId !== undefined) answer.pdus[eventId] = outcome.ok ? {} : { error: outcome.error };
    }
  }
}
