import type { RoomOutput } from '@axon/contracts-kafka';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join as joinPath } from 'node:path';
import type { EventId, RoomId, UserId } from '@axon/matrix-identifiers';
import { Database } from '@axon/platform-database';
import { AppendRepository, type AppendEvent } from './append.repository';
import { ROOM_SERVER_MIGRATIONS } from './migrations';
import { RoomStorage } from './room-storage';
import { RequestSeenError, StaleRoomHeadError } from './rows';

const ROOM = '!fork:hs.test' as RoomId;
/** The repository stores what it is given: these tests name events by short IDs of their own. */
const id = (eventId: string): EventId => eventId as EventId;

/** A plain message event that names `prev` as its prev events (the repository does not check the PDU). */
function message(eventId: string, prev: readonly string[], depth: number): AppendEvent {
  return {
    eventId: id(eventId),
    type: 'm.room.message',
    stateKey: undefined,
    sender: '@alice:hs.test' as UserId,
    depth,
    originServerTs: 0,
    pduJson: JSON.stringify({ event_id: eventId, prev_events: prev }),
    prevEventIds: prev.map(id),
    authEventIds: [],
    membership: undefined,
    redacts: undefined,
    traceContext: {},
  };
}

function topic(eventId: string, prev: readonly string[], depth: number, value: string): AppendEvent {
  return { ...message(eventId, prev, depth), type: 'm.room.topic', stateKey: '', pduJson: JSON.stringify({ event_id: eventId, content: { topic: value } }) };
}

describe('AppendRepository', () => {
  let database: Database;
  let storage: RoomStorage;
  let appender: AppendRepository;

  beforeAll(async () => {
    database = await Database.open({ dataDir: mkdtempSync(joinPath(tmpdir(), 'axon-rs-store-')), inMemory: true });
    storage = new RoomStorage(await database.dataSource({ schema: 'room_server', migrations: [...ROOM_SERVER_MIGRATIONS] }));
    appender = new AppendRepository(storage);
    await storage.transaction((tx) => storage.rooms.insert(tx, ROOM, '10'));
  });

  afterAll(async () => {
    await database.close();
  });

  /** Appends events to a room on its current head, as one batch. */
  const append = async (roomId: RoomId, ...events: AppendEvent[]) => {
    const room = (await storage.rooms.get(storage.db, roomId))!;
    const extremities = (await storage.rooms.forwardExtremities(storage.db, roomId)).map((event) => event.event_id);
    return appender.commit({
      rooms: [{ room, extremities, events }],
      results: events.map((event) => ({ requestId: `req${event.eventId}`, roomId, eventId: event.eventId })),
      output: (_room, appended) => ({ roomId, output: { event_id: appended.event.eventId, room_seq: appended.roomSeq } as unknown as RoomOutput, traceContext: {} }),
    });
  };
  const extremities = async (roomId = ROOM): Promise<EventId[]> => (await storage.rooms.forwardExtremities(storage.db, roomId)).map((event) => event.event_id).sort();

  it('an event replaces exactly its prev events: a fork keeps both sides, a merge joins them', async () => {
    await append(ROOM, message('$root', [], 1));
    expect(await extremities()).toEqual(['$root']);
    // Two events on the same prev (as federation may deliver): both are extremities.
    await append(ROOM, message('$left', ['$root'], 2));
    await append(ROOM, message('$right', ['$root'], 2));
    expect(await extremities()).toEqual(['$left', '$right']);
    // An event on one side replaces that side only.
    await append(ROOM, message('$left2', ['$left'], 3));
    expect(await extremities()).toEqual(['$left2', '$right']);
    // A merge names both: one extremity again.
    await append(ROOM, message('$merge', ['$left2', '$right'], 4));
    expect(await extremities()).toEqual(['$merge']);
  });

  it("a stale writer's failed append leaves the winner's head and extremities", async () => {
    const roomId = '!stale:hs.test' as RoomId;
    await storage.transaction((tx) => storage.rooms.insert(tx, roomId, '10'));
    await append(roomId, message('$first', [], 1));
    // Two writers read the same head; the first to commit wins.
    const stale = (await storage.rooms.get(storage.db, roomId))!;
    await append(roomId, message('$winner', ['$first'], 2));
    await expect(
      appender.commit({
        rooms: [{ room: stale, extremities: [id('$first')], events: [message('$loser', ['$first'], 2)] }],
        results: [{ requestId: 'req$loser', roomId, eventId: id('$loser') }],
        output: () => ({ roomId, output: {} as RoomOutput, traceContext: {} }),
      }),
    ).rejects.toBeInstanceOf(StaleRoomHeadError);
    expect(await extremities(roomId)).toEqual(['$winner']);
    expect((await storage.rooms.get(storage.db, roomId))!.head_seq).toBe(2);
    expect(await storage.events.byIds(storage.db, [id('$loser')])).toEqual([]);
    expect(await storage.inputResults.get(storage.db, 'req$loser')).toBeUndefined();
  });

  it('a commit recording an outcome recorded before is undone whole (RequestSeenError)', async () => {
    const roomId = '!seen:hs.test' as RoomId;
    await storage.transaction((tx) => storage.rooms.insert(tx, roomId, '10'));
    await append(roomId, message('$once', [], 1));
    const room = (await storage.rooms.get(storage.db, roomId))!;
    await expect(
      appender.commit({
        rooms: [{ room, extremities: [id('$once')], events: [message('$again', ['$once'], 2)] }],
        // The first input's request again (redelivered), built anew.
        results: [{ requestId: 'req$once', roomId, eventId: id('$again') }],
        output: () => ({ roomId, output: {} as RoomOutput, traceContext: {} }),
      }),
    ).rejects.toBeInstanceOf(RequestSeenError);
    expect(await extremities(roomId)).toEqual(['$once']);
    expect((await storage.rooms.get(storage.db, roomId))!.head_seq).toBe(1);
    expect(await storage.events.byIds(storage.db, [id('$again')])).toEqual([]);
    expect((await storage.inputResults.get(storage.db, 'req$once'))?.event_id).toBe('$once');
  });

  it('one batch appends to several rooms in order, state events among messages, with their outputs and results', async () => {
    const [a, b] = ['!batch-a:hs.test', '!batch-b:hs.test'] as [RoomId, RoomId];
    await storage.transaction(async (tx) => {
      await storage.rooms.insert(tx, a, '10');
      await storage.rooms.insert(tx, b, '10');
    });
    const before = (await storage.outbox.peek(storage.db, 10_000)).length;
    const committed = await appender.commit({
      rooms: [
        { room: (await storage.rooms.get(storage.db, a))!, extremities: [], events: [message('$a1', [], 1), topic('$a2', ['$a1'], 2, 'one'), message('$a3', ['$a2'], 3), topic('$a4', ['$a3'], 4, 'two')] },
        { room: (await storage.rooms.get(storage.db, b))!, extremities: [], events: [message('$b1', [], 1), message('$b2', ['$b1'], 2)] },
      ],
      results: [{ requestId: 'refused', roomId: a, errcode: 'M_FORBIDDEN', error: 'no' }],
      output: (room, appended) => ({ roomId: room.room_id, output: { event_id: appended.event.eventId, room_seq: appended.roomSeq } as unknown as RoomOutput, traceContext: {} }),
    });
    expect(committed.map((room) => [room.room.room_id, room.room.head_seq, room.extremities])).toEqual([
      [a, 4, ['$a4']],
      [b, 2, ['$b2']],
    ]);
    // Stream positions follow each room's order.
    const positions = (await storage.timeline.paginate(storage.db, a, { direction: 'f', limit: 10 })).map((event) => [event.event_id, event.room_seq]);
    expect(positions).toEqual([
      ['$a1', 1],
      ['$a2', 2],
      ['$a3', 3],
      ['$a4', 4],
    ]);
    // Current state is the later topic; the state before and after each event is right.
    expect((await storage.state.current(storage.db, a)).map((event) => event.event_id)).toEqual(['$a4']);
    expect(await storage.state.group(storage.db, (await storage.events.stateGroupsOf(storage.db, id('$a3')))!.after!)).toMatchObject([{ event_id: '$a2' }]);
    expect((await storage.events.stateGroupsOf(storage.db, id('$a1')))!.after).toBeNull();
    expect(committed[0]!.appended.find((x) => x.event.eventId === '$a4')!.stateRemoved).toEqual([['m.room.topic', '', '$a2']]);
    // One output per event, each room's in order; the refusal is recorded.
    const outputs = (await storage.outbox.peek(storage.db, 10_000)).slice(before).map((row) => JSON.parse(row.payload) as { event_id: string });
    expect(outputs.map((output) => output.event_id)).toEqual(['$a1', '$a2', '$a3', '$a4', '$b1', '$b2']);
    expect(await storage.inputResults.get(storage.db, 'refused')).toMatchObject({ room_id: a, errcode: 'M_FORBIDDEN', event_id: null });
  });
});
