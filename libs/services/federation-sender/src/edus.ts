import type { PresenceUpdate, ReceiptUpdate, ToDeviceMessages, TypingUpdate } from '@axon/contracts-kafka';
import type { JsonObject } from '@axon/matrix-canonical-json';

/**
 * The EDUs this server sends, built from the EDU topics' payloads, as the Server-Server
 * API spells them. Spec: https://spec.matrix.org/v1.19/server-server-api/#edus
 */
export interface Edu {
  readonly edu_type: string;
  readonly content: JsonObject;
}

/**
 * `m.typing`: `user_id` started or stopped typing in `room_id`. The receiving server
 * times a typing notification out itself.
 * Spec: https://spec.matrix.org/v1.19/server-server-api/#typing-notifications
 */
export function typingEdu(update: TypingUpdate): Edu {
  return { edu_type: 'm.typing', content: { room_id: update.room_id, user_id: update.user_id, typing: update.typing } };
}

/**
 * `m.receipt`: one user's receipt of one room, `thread_id` in `data` when threaded.
 * Spec: https://spec.matrix.org/v1.19/server-server-api/#receipts
 */
export function receiptEdu(update: ReceiptUpdate): Edu {
  const data: JsonObject = { ts: update.ts, ...(update.thread_id === undefined ? {} : { thread_id: update.thread_id }) };
  return { edu_type: 'm.receipt', content: { [update.room_id]: { [update.receipt_type]: { [update.user_id]: { event_ids: [update.event_id], data } } } } };
}

/**
 * `m.presence` as queued: `last_active_ts` stands where the spec's `last_active_ago`
 * goes, because "ago" is relative to when the transaction leaves, which may be long after
 * it was queued (`finalizeEdu` turns one into the other at sending).
 * Spec: https://spec.matrix.org/v1.19/server-server-api/#presence
 */
export function queuedPresenceEdu(update: PresenceUpdate): Edu {
  const push: JsonObject = {
    user_id: update.user_id,
    presence: update.presence,
    currently_active: update.currently_active,
    last_active_ts: update.last_active_ts,
    ...(typeof update.status_msg === 'string' ? { status_msg: update.status_msg } : {}),
  };
  return { edu_type: 'm.presence', content: { push: [push] } };
}

/**
 * The longest `message_id` of `m.direct_to_device` (32 code points). The topic's message
 * IDs are longer (43 characters of base64url SHA-256), so the first 32 characters are sent:
 * 192 bits, still unique, and the same for a redelivered message.
 */
const MAX_MESSAGE_ID = 32;

/**
 * `m.direct_to_device`: one `sendToDevice` request's messages for one user of the
 * destination, by device ID (`*` for all of them: the recipient's server expands it).
 * Spec: https://spec.matrix.org/v1.19/server-server-api/#send-to-device-messaging
 */
export function directToDeviceEdu(message: ToDeviceMessages): Edu {
  return {
    edu_type: 'm.direct_to_device',
    content: {
      sender: message.sender,
      type: message.type,
      message_id: message.message_id.slice(0, MAX_MESSAGE_ID),
      messages: { [message.recipient]: message.messages as JsonObject },
    },
  };
}

/** A queued EDU as it leaves at `now`: presence's `last_active_ts` becomes `last_active_ago`; every other EDU as queued. */
export function finalizeEdu(edu: Edu, now: number): Edu {
  if (edu.edu_type !== 'm.presence' || !Array.isArray(edu.content['push'])) return edu;
  const push = (edu.content['push'] as JsonObject[]).map(({ last_active_ts, ...rest }) => ({ ...rest, last_active_ago: Math.max(0, now - Number(last_active_ts)) }));
  return { edu_type: edu.edu_type, content: { ...edu.content, push } };
}
