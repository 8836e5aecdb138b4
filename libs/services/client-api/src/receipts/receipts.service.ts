import { Injectable } from '@nestjs/common';
import { receiptTopic, type ReceiptType, type ReceiptUpdate } from '@axon/contracts-kafka';
import { MatrixError } from '@axon/matrix-errors';
import { parseEventId, type EventId, type RoomId } from '@axon/matrix-identifiers';
import type { MessageBus } from '@axon/platform-bus';
import { InjectBus } from '@axon/platform-runtime';
import { AccountDataService } from '../account-data/account-data.service';
import type { JsonObject } from '@axon/platform-http';
import type { Requester } from '../auth/requester';
import { RoomReadsService } from '../rooms/room-reads.service';

/** The markers a client may move: the two receipt types, and the fully read marker (room account data). */
const MARKER_TYPES = ['m.read', 'm.read.private', 'm.fully_read'] as const;
type MarkerType = (typeof MARKER_TYPES)[number];

/** Where each marker goes, by type; absent ones stay where they are. */
type Markers = Partial<Record<MarkerType, EventId>>;

function isMarkerType(type: string): type is MarkerType {
  return (MARKER_TYPES as readonly string[]).includes(type);
}

function checkEventId(eventId: string, what: string): EventId {
  const parsed = parseEventId(eventId);
  if (!parsed.ok) throw new MatrixError('M_INVALID_PARAM', `${what} is not an event ID`, 400);
  return parsed.value;
}

/**
 * `thread_id`: absent (an unthreaded receipt), `main`, or a thread root's event ID.
 * Spec: https://spec.matrix.org/v1.19/client-server-api/#threaded-read-receipts
 */
function threadIdOf(body: JsonObject): string | undefined {
  const threadId = body['thread_id'];
  if (threadId === undefined) return undefined;
  if (typeof threadId !== 'string' || threadId === '') throw new MatrixError('M_INVALID_PARAM', 'thread_id field must be a non-empty string', 400);
  if (threadId !== 'main') checkEventId(threadId, 'thread_id');
  return threadId;
}

/**
 * Read receipts and the fully read marker: `POST /receipt/{receiptType}/{eventId}` and
 * `POST /read_markers`. Receipts are announced on `hs.edu.receipt.v1` (sync shows them,
 * `m.read.private` to their owner only); the fully read marker is the room account data
 * `m.fully_read`, set through the account data service so it is announced like the rest.
 *
 * Not checked yet: that a threaded receipt's event belongs to its thread (the spec's
 * "`event_id` is not related to the `thread_id`" 400); that needs relations lookups.
 *
 * Spec: https://spec.matrix.org/v1.19/client-server-api/#receipts
 * and https://spec.matrix.org/v1.19/client-server-api/#fully-read-markers
 */
@Injectable()
export class ReceiptsService {
  constructor(
    private readonly reads: RoomReadsService,
    private readonly accountData: AccountDataService,
    @InjectBus() private readonly bus: MessageBus,
  ) {}

  async receipt(requester: Requester, roomId: RoomId, receiptType: string, eventId: string, body: JsonObject): Promise<void> {
    if (!isMarkerType(receiptType)) throw new MatrixError('M_INVALID_PARAM', `Unknown receipt type ${JSON.stringify(receiptType)}`, 400);
    const target = checkEventId(eventId, 'eventId');
    const threadId = threadIdOf(body);
    // `m.fully_read` is not a receipt, so it has no thread.
    if (threadId !== undefined && receiptType === 'm.fully_read') throw new MatrixError('M_INVALID_PARAM', 'thread_id is not allowed for m.fully_read', 400);
    await this.move(requester, roomId, { [receiptType]: target }, threadId);
  }

  async readMarkers(requester: Requester, roomId: RoomId, body: JsonObject): Promise<void> {
    const markers: Markers = {};
    for (const type of MARKER_TYPES) {
      const eventId = body[type];
      if (eventId === undefined) continue;
      if (typeof eventId !== 'string') throw new MatrixError('M_BAD_JSON', `"${type}" must be an event ID string`, 400);
      markers[type] = checkEventId(eventId, `"${type}"`);
    }
    await this.move(requester, roomId, markers, undefined);
  }

  /** Checks every target before moving any marker, so a request moves all of its markers or none. */
  private async move(requester: Requester, roomId: RoomId, markers: Markers, threadId: string | undefined): Promise<void> {
    await this.reads.checkJoinedAndVisible(requester, roomId, Object.values(markers));
    const ts = Date.now();
    const receipts: ReceiptUpdate[] = [];
    for (const type of ['m.read', 'm.read.private'] as const satisfies readonly ReceiptType[]) {
      const eventId = markers[type];
      if (eventId === undefined) continue;
      receipts.push({ room_id: roomId, user_id: requester.userId, receipt_type: type, event_id: eventId, ...(threadId === undefined ? {} : { thread_id: threadId }), ts });
    }
    if (receipts.length > 0) await this.bus.publish(receiptTopic, receipts);
    const fullyRead = markers['m.fully_read'];
    if (fullyRead !== undefined) await this.accountData.set(requester.userId, roomId, 'm.fully_read', { event_id: fullyRead }, false);
  }
}
