import type { UserId } from '@axon/matrix-identifiers';

/**
 * The wake-up channel of a user's waiting `/sync` long-polls: the consumers publish on it
 * after applying a change that concerns the user, the long-polls listen on it.
 */
export function syncChannel(userId: UserId): string {
  return `sync:${userId}`;
}
