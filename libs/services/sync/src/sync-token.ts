import { MatrixError } from '@axon/matrix-errors';

/** Applied offsets of one topic, per partition (-1 for none). */
export type StreamPositions = readonly number[];

/**
 * A sync token: per stream (room events from `hs.room.output.v1`, account data from
 * `hs.account-data.v1`), the last applied offset of every partition. Opaque to clients;
 * written `s1_<room offsets>_<account data offsets>`, each a `.`-separated list in
 * partition order.
 */
export interface SyncToken {
  readonly rooms: StreamPositions;
  readonly accountData: StreamPositions;
}

const LIST = '(-1|\\d{1,18})(\\.(-1|\\d{1,18}))*';
const PATTERN = new RegExp(`^s1_${LIST}_${LIST}$`);

export function formatSyncToken(token: SyncToken): string {
  return `s1_${token.rooms.join('.')}_${token.accountData.join('.')}`;
}

/** Parses a `since` token for the given partition counts, or `M_INVALID_PARAM`. */
export function parseSyncToken(text: string, partitions: { readonly rooms: number; readonly accountData: number }): SyncToken {
  if (!PATTERN.test(text)) throw new MatrixError('M_INVALID_PARAM', 'invalid since token', 400);
  const [rooms, accountData] = text
    .slice(3)
    .split('_')
    .map((list) => list.split('.').map(Number));
  if (rooms!.length !== partitions.rooms || accountData!.length !== partitions.accountData) {
    throw new MatrixError('M_INVALID_PARAM', 'since token from another deployment', 400);
  }
  return { rooms: rooms!, accountData: accountData! };
}
