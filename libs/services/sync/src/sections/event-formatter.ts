import type { JsonObject } from '@axon/matrix-canonical-json';
import { MatrixError } from '@axon/matrix-errors';
import { formatClientEvent, redactEvent } from '@axon/matrix-events';
import { applyEventFields } from '@axon/matrix-filters';
import { getRoomVersionRules } from '@axon/matrix-room-versions';
import type { RoomEventsRepository, SyncEvent } from '../storage/room-events.repository';
import type { PublicOf } from '../storage/sync-repositories';
import type { SyncRequest } from './sync-window';

/** Writes read-model events as a sync response carries them. */
export class EventFormatter {
  constructor(private readonly roomEvents: PublicOf<RoomEventsRepository>) {}

  /**
   * The events in the filter's `event_format` (no `room_id` in the client format), redacted
   * ones redacted under their room version with the redaction in `unsigned`, with
   * `unsigned.transaction_id` on those the requesting device sent with one, cut to the
   * filter's `event_fields`.
   */
  async format(request: Pick<SyncRequest, 'filter' | 'userId' | 'deviceId'>, events: readonly SyncEvent[]): Promise<JsonObject[]> {
    const redactionIds = events.flatMap((event) => (event.redacted_by === null ? [] : [event.redacted_by]));
    const redactions = new Map((await this.roomEvents.eventsByIds(redactionIds)).map((event) => [event.event_id, event]));
    const now = Date.now();
    const { eventFields, eventFormat } = request.filter;
    return events.map((event) => {
      const rules = getRoomVersionRules(event.room_version);
      if (!rules.ok) throw new MatrixError('M_UNKNOWN', `room ${event.room_id} has an unknown version`, 500);
      const pdu = JSON.parse(event.pdu_json) as JsonObject;
      let formatted: JsonObject;
      if (eventFormat === 'federation') {
        // The event as servers exchange it (redacted when it is).
        formatted = event.redacted_by === null ? pdu : redactEvent(pdu, rules.value.redaction);
      } else {
        const redaction = event.redacted_by === null ? undefined : redactions.get(event.redacted_by);
        formatted = formatClientEvent(pdu, {
          eventId: event.event_id,
          roomId: event.room_id,
          now,
          ...(event.redacted_by === null
            ? {}
            : {
                redacted: {
                  rules: rules.value.redaction,
                  ...(redaction === undefined ? {} : { because: formatClientEvent(JSON.parse(redaction.pdu_json) as JsonObject, { eventId: redaction.event_id, roomId: redaction.room_id, now }) }),
                },
              }),
        });
        delete formatted['room_id'];
      }
      const txnId = transactionIdFor(request, event);
      if (txnId !== undefined) formatted = { ...formatted, unsigned: { ...(formatted['unsigned'] as JsonObject | undefined), transaction_id: txnId } };
      return applyEventFields(formatted, eventFields) as JsonObject;
    });
  }
}

/**
 * The transaction ID of an event for the device asking: only the device that sent it (the
 * same user and device) is given it, the scope of a transaction ID being one device.
 * Spec: https://spec.matrix.org/v1.19/client-server-api/#transaction-identifiers
 */
function transactionIdFor(request: Pick<SyncRequest, 'userId' | 'deviceId'>, event: SyncEvent): string | undefined {
  return event.txn_id !== null && event.sender === request.userId && event.txn_device_id === request.deviceId ? event.txn_id : undefined;
}
