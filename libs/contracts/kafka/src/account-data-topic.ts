import { jsonCodec } from './codec';
import { defineTopic } from './topic';

/**
 * `hs.account-data.v1`: a user's account data changed (global when `room_id` is empty,
 * else for that room; tags travel as the room's `m.tag`). Carries the whole new content,
 * so applying it twice is harmless.
 */
export interface AccountDataUpdate {
  readonly user_id: string;
  readonly room_id: string;
  readonly type: string;
  readonly content: Record<string, unknown>;
}

function validateAccountDataUpdate(value: unknown): AccountDataUpdate {
  const update = value as Partial<AccountDataUpdate> | null;
  if (
    typeof update !== 'object' ||
    update === null ||
    typeof update.user_id !== 'string' ||
    typeof update.room_id !== 'string' ||
    typeof update.type !== 'string' ||
    typeof update.content !== 'object' ||
    update.content === null ||
    Array.isArray(update.content)
  ) {
    throw new TypeError('account data update: user_id, room_id, type (strings) and content (object) are required');
  }
  return update as AccountDataUpdate;
}

/** `hs.account-data.v1`, keyed by user: each user's changes in order. */
export const accountDataTopic = defineTopic<AccountDataUpdate>({
  name: 'hs.account-data.v1',
  partitions: 8,
  key: (update) => update.user_id,
  codec: jsonCodec(validateAccountDataUpdate),
});
