// The token format is shared with client-api (`/messages` takes sync tokens): it lives in the contracts.
export { emptySyncToken, formatSyncToken, parseSyncToken, SYNC_STREAMS, type StreamName, type StreamPositions, type SyncToken } from '@axon/contracts-kafka';
