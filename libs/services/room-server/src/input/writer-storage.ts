import type { EventId, RoomId } from '@axon/matrix-identifiers';
import { isTransientFailure } from '@axon/platform-bus';
import { GroupCommit } from '@axon/platform-database';
import { AppendRepository, type AppendBatch, type CommittedRoom, type OutputWriter } from '../storage/append.repository';
import type { InputResultRow, RoomRow, StoredEvent } from '../storage/rows';
import type { RoomStorage } from '../storage/room-storage';

/**
 * What the room writer reads and writes, and nothing else: the port its unit tests fake.
 * `roomStorageForWriter` is the real one over the room server's repositories.
 */
export interface WriterStorage {
  /** Recorded outcomes of these request IDs. */
  inputResults(requestIds: readonly string[]): Promise<Map<string, InputResultRow>>;
  room(roomId: RoomId): Promise<RoomRow | undefined>;
  forwardExtremities(roomId: RoomId): Promise<StoredEvent[]>;
  /** Current state events of these (type, state_key) pairs. */
  currentState(roomId: RoomId, keys: ReadonlyArray<readonly [string, string]>): Promise<StoredEvent[]>;
  eventsByIds(eventIds: readonly EventId[]): Promise<StoredEvent[]>;
  /** Appends a batch in one transaction, fenced per room (`AppendRepository.commit`). */
  commit(batch: AppendBatch): Promise<CommittedRoom[]>;
}

/** Events per shared transaction: bounds how long one holds its rooms' rows. */
const MAX_EVENTS_PER_COMMIT = 512;

/**
 * The writer's storage over the room server's repositories. Commits are grouped across
 * the writer's batches (`GroupCommit`): the partitions' batches that wait while one
 * commits go together in the next transaction, so rooms spread over many partitions (50
 * senders, each in a room of their own) share transactions as one busy room's inputs do.
 * A shared commit that fails for a batch's own reason (a moved head, a statement one
 * input breaks) is retried batch by batch; an outage fails them all, and the bus retries.
 */
export function roomStorageForWriter(storage: RoomStorage, writeOutputs?: OutputWriter): WriterStorage {
  const { db } = storage;
  const appender = new AppendRepository(storage, writeOutputs);
  const commits = new GroupCommit((batches: readonly AppendBatch[]) => appender.commitAll(batches), {
    maxWeight: MAX_EVENTS_PER_COMMIT,
    weight: (batch) => Math.max(1, batch.rooms.reduce((sum, plan) => sum + plan.events.length, 0)),
    retryAlone: (error) => !isTransientFailure(error),
  });
  // The partitions' batches ask at once; one query answers all that wait (each still after its batch arrived).
  const resultReads = new GroupCommit(
    async (lists: ReadonlyArray<readonly string[]>) => {
      const found = await storage.inputResults.getMany(db, [...new Set(lists.flat())]);
      return lists.map(() => found);
    },
    { maxWeight: 4096, weight: (ids) => ids.length },
  );
  return {
    inputResults: (requestIds) => resultReads.submit(requestIds),
    room: (roomId) => storage.rooms.get(db, roomId),
    forwardExtremities: (roomId) => storage.rooms.forwardExtremities(db, roomId),
    currentState: (roomId, keys) => storage.state.current(db, roomId, { keys }),
    eventsByIds: (eventIds) => storage.events.byIds(db, eventIds),
    commit: (batch) => commits.submit(batch),
  };
}
