import { formatStateKey, type StateKey } from '@axon/matrix-event-auth';
import type { EventId } from '@axon/matrix-identifiers';
import type { OutputWriter } from '../storage/append.repository';
import { RemoteAppendRepository } from '../storage/remote-append.repository';
import type { RoomStorage } from '../storage/room-storage';
import type { StateEntry } from '../storage/state.repository';
import type { RemoteEventStorage } from './remote-event-ingest';

const byKey = (entries: readonly StateEntry[]): Map<StateKey, EventId> => new Map(entries.map((e) => [formatStateKey(e.type, e.state_key), e.event_id]));

/** `RemoteEventStorage` over the room server's repositories. */
export function remoteEventStorage(storage: RoomStorage, writeOutputs?: OutputWriter): RemoteEventStorage {
  const { db } = storage;
  const appender = new RemoteAppendRepository(storage, writeOutputs);
  return {
    room: (roomId) => storage.rooms.get(db, roomId),
    forwardExtremities: async (roomId) => (await storage.rooms.forwardExtremities(db, roomId)).map((event) => event.event_id),
    eventsByIds: (eventIds) => storage.events.byIds(db, eventIds),
    stateGroupsAfter: (eventIds) => storage.events.stateGroupsAfter(db, eventIds),
    groupState: async (groupId) => byKey(await storage.state.groupEntries(db, groupId)),
    currentState: async (roomId) => byKey(await storage.state.currentEntries(db, roomId)),
    commit: (plan) => appender.commit(plan),
    recordRefusal: async (result) => {
      await storage.inputResults.record(db, [result], Date.now());
    },
  };
}
