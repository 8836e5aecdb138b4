import { accountDataTopic, deviceListTopic, presenceTopic, receiptTopic, roomOutputTopic, toDeviceTopic, typingTopic, type AnyTopic } from '@axon/contracts-kafka';
import { MatrixError } from '@axon/matrix-errors';

/** Applied offsets of one topic, per partition (-1 for none). */
export type StreamPositions = readonly number[];

/**
 * The streams a sync token has a position in, in token order: each is a bus topic whose
 * messages the sync read model applies in partition order.
 */
export const SYNC_STREAMS = [
  ['rooms', roomOutputTopic],
  ['accountData', accountDataTopic],
  ['receipts', receiptTopic],
  ['typing', typingTopic],
  ['presence', presenceTopic],
  ['toDevice', toDeviceTopic],
  ['deviceLists', deviceListTopic],
] as const satisfies ReadonlyArray<readonly [string, AnyTopic]>;

export type StreamName = (typeof SYNC_STREAMS)[number][0];

/**
 * A sync token: per stream, the last applied offset of every partition of its topic. A
 * position is only ever advanced past offsets that are applied, and each partition is
 * applied in order, so a token never skips an event. Opaque to clients; written
 * `s2_<rooms>_<account data>_<receipts>_<typing>_<presence>_<to-device>_<device lists>`,
 * each a `.`-separated list in partition order.
 */
export type SyncToken = Readonly<Record<StreamName, StreamPositions>>;

const VERSION = 's2';

export function formatSyncToken(token: SyncToken): string {
  return [VERSION, ...SYNC_STREAMS.map(([name]) => token[name].join('.'))].join('_');
}

const NUMBER = /^(-1|\d{1,18})$/;

/** Parses a `since` token, or `M_INVALID_PARAM` (also for a token of another deployment's partition counts). */
export function parseSyncToken(text: string): SyncToken {
  const parts = text.split('_');
  if (parts[0] !== VERSION || parts.length !== SYNC_STREAMS.length + 1) throw new MatrixError('M_INVALID_PARAM', 'invalid since token', 400);
  const token: Partial<Record<StreamName, StreamPositions>> = {};
  SYNC_STREAMS.forEach(([name, topic], index) => {
    const list = parts[index + 1]!.split('.');
    if (!list.every((n) => NUMBER.test(n))) throw new MatrixError('M_INVALID_PARAM', 'invalid since token', 400);
    if (list.length !== topic.partitions) throw new MatrixError('M_INVALID_PARAM', 'since token from another deployment', 400);
    token[name] = list.map(Number);
  });
  return token as SyncToken;
}

/** The token with every position at -1: before anything. */
export function emptySyncToken(): SyncToken {
  return Object.fromEntries(SYNC_STREAMS.map(([name, topic]) => [name, Array.from({ length: topic.partitions }, () => -1)])) as unknown as SyncToken;
}
