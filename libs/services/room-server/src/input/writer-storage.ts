import { AppendRepository, type AppendBatch, type CommittedRoom } from '../storage/append.repository';
import type { InputResultRow, RoomRow, StoredEvent } from '../storage/rows';
import type { RoomStorage } from '../storage/room-storage';

/**
 * What the room writer reads and writes, and nothing else: the port its unit tests fake.
 * `roomStorageForWriter` is the real one over the room server's repositories.
 */
export interface WriterStorage {
  /** Recorded outcomes of these request IDs. */
  inputResults(requestIds: readonly string[]): Promise<Map<string, InputResultRow>>;
  room(roomId: string): Promise<RoomRow | undefined>;
  forwardExtremities(roomId: string): Promise<StoredEvent[]>;
  /** Current state events of these (type, state_key) pairs. */
  currentState(roomId: string, keys: ReadonlyArray<readonly [string, string]>): Promise<StoredEvent[]>;
  eventsByIds(eventIds: readonly string[]): Promise<StoredEvent[]>;
  /** Appends a batch in one transaction, fenced per room (`AppendRepository.commit`). */
  commit(batch: AppendBatch): Promise<CommittedRoom[]>;
}

export function roomStorageForWriter(storage: RoomStorage): WriterStorage {
  const { db } = storage;
  const appender = new AppendRepository(storage);
  return {
    inputResults: (requestIds) => storage.inputResults.getMany(db, requestIds),
    room: (roomId) => storage.rooms.get(db, roomId),
    forwardExtremities: (roomId) => storage.rooms.forwardExtremities(db, roomId),
    currentState: (roomId, keys) => storage.state.current(db, roomId, { keys }),
    eventsByIds: (eventIds) => storage.events.byIds(db, eventIds),
    commit: (batch) => appender.commit(batch),
  };
}
