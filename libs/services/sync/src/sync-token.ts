import { MatrixError } from '@axon/matrix-errors';

/**
 * A sync token: per partition of `hs.room.output.v1`, the last applied offset (-1 for
 * none). Opaque to clients; written `s1_<offset>.<offset>...` (one entry per partition,
 * in partition order). Later streams (receipts, typing, account data...) add their own
 * positions after further `_`.
 */
export type SyncToken = readonly number[];

const PATTERN = /^s1_(-1|\d{1,18})(\.(-1|\d{1,18}))*$/;

export function formatSyncToken(token: SyncToken): string {
  return `s1_${token.join('.')}`;
}

/** Parses a `since` token for a topic of `partitions` partitions, or `M_INVALID_PARAM`. */
export function parseSyncToken(text: string, partitions: number): SyncToken {
  if (!PATTERN.test(text)) throw new MatrixError('M_INVALID_PARAM', 'invalid since token', 400);
  const offsets = text.slice(3).split('.').map(Number);
  if (offsets.length !== partitions) throw new MatrixError('M_INVALID_PARAM', 'since token from another deployment', 400);
  return offsets;
}
