import type { ProtoEvent, RoomOutput } from '@axon/contracts-kafka';
import { formatStateKey } from '@axon/matrix-event-auth';
import { createNativeEd25519Backend, generateSigningKey } from '@axon/matrix-signing';
import type { Signer } from '../events/event-builder';
import type { AppendBatch, CommittedRoom } from '../storage/append.repository';
import { RequestSeenError, StaleRoomHeadError, type InputResultRow, type RoomRow, type StoredEvent } from '../storage/rows';
import { RoomWriter, type WriterInput } from './room-writer';
import type { WriterStorage } from './writer-storage';

/**
 * The room writer over an in-memory `WriterStorage`: what it reads, what one batch
 * commits, and how it recovers when another writer moved a room's head. (The same writer
 * against real PGlite storage: room-writer.spec.ts.)
 */
class FakeStorage implements WriterStorage {
  readonly rooms = new Map<string, { row: RoomRow; extremities: string[] }>();
  readonly events = new Map<string, StoredEvent>();
  readonly current = new Map<string, Map<string, string>>();
  readonly results = new Map<string, InputResultRow>();
  readonly outputs: RoomOutput[] = [];
  readonly reads: string[] = [];
  commits = 0;
  private nid = 0;
  /** What the database refuses to store (as Postgres refuses a NUL byte in text): SQLSTATE 22021. */
  refuseNul = false;

  resultReads = 0;

  async inputResults(requestIds: readonly string[]): Promise<Map<string, InputResultRow>> {
    this.resultReads++;
    return new Map(requestIds.flatMap((id) => (this.results.has(id) ? [[id, this.results.get(id)!] as const] : [])));
  }

  async room(roomId: string): Promise<RoomRow | undefined> {
    this.reads.push(`room ${roomId}`);
    return this.rooms.get(roomId)?.row;
  }

  async forwardExtremities(roomId: string): Promise<StoredEvent[]> {
    this.reads.push(`extremities ${roomId}`);
    return (this.rooms.get(roomId)?.extremities ?? []).map((id) => this.events.get(id)!);
  }

  async currentState(roomId: string, keys: ReadonlyArray<readonly [string, string]>): Promise<StoredEvent[]> {
    this.reads.push(`state ${roomId} ${keys.map(([type, key]) => `${type}|${key}`).sort().join(',')}`);
    const state = this.current.get(roomId) ?? new Map<string, string>();
    return keys.flatMap(([type, key]) => {
      const id = state.get(formatStateKey(type, key));
      return id === undefined ? [] : [this.events.get(id)!];
    });
  }

  async eventsByIds(eventIds: readonly string[]): Promise<StoredEvent[]> {
    return eventIds.flatMap((id) => (this.events.has(id) ? [this.events.get(id)!] : []));
  }

  async commit(batch: AppendBatch): Promise<CommittedRoom[]> {
    if (this.refuseNul && batch.rooms.some((plan) => plan.events.some((event) => event.pduJson.includes('\\u0000')))) {
      throw Object.assign(new Error('query failed'), { name: 'QueryFailedError', driverError: { code: '22021' } });
    }
    // As the database does: a recorded outcome undoes the whole commit.
    if (batch.results.some((result) => this.results.has(result.requestId))) throw new RequestSeenError();
    this.commits++;
    for (const plan of batch.rooms) {
      if (!plan.create && this.rooms.get(plan.room.room_id)?.row.head_seq !== plan.room.head_seq) throw new StaleRoomHeadError(plan.room.room_id);
    }
    const committed: CommittedRoom[] = [];
    for (const plan of batch.rooms) {
      const roomId = plan.room.room_id;
      let seq = plan.room.head_seq;
      let extremities = [...plan.extremities];
      const appended = plan.events.map((event) => {
        seq++;
        const nid = String(++this.nid);
        this.events.set(event.eventId, {
          nid,
          event_id: event.eventId,
          room_id: roomId,
          room_seq: seq,
          type: event.type,
          state_key: event.stateKey ?? null,
          depth: event.depth,
          pdu_json: event.pduJson,
          redacted_by: null,
          txn_device_id: event.transaction?.device_id ?? null,
          txn_id: event.transaction?.txn_id ?? null,
          status: null,
        });
        if (event.stateKey !== undefined) {
          const state = this.current.get(roomId) ?? new Map<string, string>();
          state.set(formatStateKey(event.type, event.stateKey), event.eventId);
          this.current.set(roomId, state);
        }
        extremities = [...extremities.filter((id) => !event.prevEventIds.includes(id)), event.eventId];
        return { event, nid, roomSeq: seq, stateAdded: [], stateRemoved: [] };
      });
      const row: RoomRow = { ...plan.room, head_seq: seq, latest_nid: appended.at(-1)?.nid ?? plan.room.latest_nid };
      this.rooms.set(roomId, { row, extremities });
      for (const result of appended) this.outputs.push(batch.output(row, result).output);
      committed.push({ room: row, extremities, appended });
    }
    for (const r of batch.results) {
      this.results.set(r.requestId, {
        request_id: r.requestId,
        room_id: r.roomId ?? null,
        event_id: 'eventId' in r ? r.eventId : null,
        errcode: 'errcode' in r ? r.errcode : null,
        error: 'error' in r ? r.error : null,
      });
    }
    return committed;
  }
}

const ALICE = '@alice:hs.test';
const BOB = '@bob:hs.test';
let signer: Signer;

beforeAll(async () => {
  const backend = await createNativeEd25519Backend();
  if (backend === undefined) throw new Error('no Ed25519');
  const key = generateSigningKey(backend, 'test');
  if (!key.ok) throw new Error(key.error);
  signer = { serverName: 'hs.test', key: key.value, backend };
});

const message = (sender: string, body: string): ProtoEvent => ({ type: 'm.room.message', sender, content: { msgtype: 'm.text', body } });
const send = (roomId: string, requestId: string, event: ProtoEvent): WriterInput => ({ input: { kind: 'new_event', request_id: requestId, room_id: roomId, event }, traceContext: {} });

async function createRoom(storage: FakeStorage, writer: RoomWriter, name: string): Promise<string> {
  const outcome = await writer.handle({
    kind: 'create_room',
    request_id: `create-${name}`,
    room_version: '10',
    events: [
      { type: 'm.room.create', state_key: '', sender: ALICE, content: { creator: ALICE, room_version: '10' } },
      { type: 'm.room.member', state_key: ALICE, sender: ALICE, content: { membership: 'join' } },
      { type: 'm.room.power_levels', state_key: '', sender: ALICE, content: { users: { [ALICE]: 100 } } },
      { type: 'm.room.join_rules', state_key: '', sender: ALICE, content: { join_rule: 'public' } },
    ],
  });
  if (!outcome.ok) throw outcome.error;
  storage.reads.length = 0;
  return outcome.roomId;
}

function prevOf(storage: FakeStorage, eventId: string): string[] {
  return (JSON.parse(storage.events.get(eventId)!.pdu_json) as { prev_events: string[] }).prev_events;
}

describe('RoomWriter over faked storage', () => {
  it('commits a batch of inputs for several rooms in one transaction, each room a chain in input order', async () => {
    const storage = new FakeStorage();
    const writer = new RoomWriter(storage, signer);
    const [a, b] = [await createRoom(storage, writer, 'a'), await createRoom(storage, writer, 'b')];
    const commits = storage.commits;
    const outcomes = await writer.handleBatch([send(a, 'a1', message(ALICE, '1')), send(b, 'b1', message(ALICE, 'x')), send(a, 'a2', message(ALICE, '2')), send(a, 'a3', message(ALICE, '3'))]);
    expect(storage.commits - commits).toBe(1);
    const ids = outcomes.map((outcome) => (outcome.ok ? outcome.eventId : outcome.error.errcode));
    expect(outcomes.every((outcome) => outcome.ok)).toBe(true);
    // Room a: a1 <- a2 <- a3; each event's prev is the one before it in the batch.
    expect(prevOf(storage, ids[2]!)).toEqual([ids[0]]);
    expect(prevOf(storage, ids[3]!)).toEqual([ids[2]]);
    expect(storage.rooms.get(a)!.extremities).toEqual([ids[3]]);
    expect(storage.rooms.get(a)!.row.head_seq).toBe(7);
    // Outputs in each room's order, with consecutive room sequences.
    const ofA = storage.outputs.filter((output) => output.room_id === a).slice(-3);
    expect(ofA.map((output) => [output.event_id, output.room_seq, output.prev_room_seq])).toEqual([
      [ids[0], 5, 4],
      [ids[2], 6, 5],
      [ids[3], 7, 6],
    ]);
  });

  it('reads a room once: later batches build on the cached head without reading', async () => {
    const storage = new FakeStorage();
    const writer = new RoomWriter(storage, signer);
    const room = await createRoom(storage, writer, 'cached');
    await writer.handleBatch([send(room, 'c1', message(ALICE, '1'))]);
    expect(storage.reads).toEqual([`room ${room}`, `extremities ${room}`, `state ${room} m.room.create|,m.room.member|${ALICE},m.room.power_levels|`]);
    storage.reads.length = 0;
    const outcomes = await writer.handleBatch([send(room, 'c2', message(ALICE, '2')), send(room, 'c3', message(ALICE, '3'))]);
    expect(outcomes.every((outcome) => outcome.ok)).toBe(true);
    expect(storage.reads).toEqual([]);
    // Nor whether the inputs were handled before: the commit finds that out.
    expect(storage.resultReads).toBe(0);
  });

  it('records a refusal in the same commit and builds the next event on the last accepted one', async () => {
    const storage = new FakeStorage();
    const writer = new RoomWriter(storage, signer);
    const room = await createRoom(storage, writer, 'refuse');
    const commits = storage.commits;
    const [first, refused, third] = await writer.handleBatch([send(room, 'r1', message(ALICE, '1')), send(room, 'r2', message(BOB, 'not a member')), send(room, 'r3', message(ALICE, '3'))]);
    expect(storage.commits - commits).toBe(1);
    expect(refused).toMatchObject({ ok: false, error: { errcode: 'M_FORBIDDEN' } });
    expect(storage.results.get('r2')).toMatchObject({ room_id: room, errcode: 'M_FORBIDDEN', event_id: null });
    if (first?.ok !== true || third?.ok !== true) throw new Error('expected both accepted');
    expect(prevOf(storage, third.eventId)).toEqual([first.eventId]);
  });

  it('refuses an input the database cannot store at once (M_BAD_JSON, recorded); in a batch, throws for the bus to split it', async () => {
    const storage = new FakeStorage();
    storage.refuseNul = true;
    const writer = new RoomWriter(storage, signer);
    const room = await createRoom(storage, writer, 'nul');
    const poisoned = send(room, 'p1', message(ALICE, 'a\u0000b'));
    // Alone: refused, the refusal recorded, the room's head unchanged for the next input.
    const [refused] = await writer.handleBatch([poisoned]);
    expect(refused).toMatchObject({ ok: false, error: { errcode: 'M_BAD_JSON' } });
    expect(storage.results.get('p1')).toMatchObject({ room_id: room, errcode: 'M_BAD_JSON', event_id: null });
    const [next] = await writer.handleBatch([send(room, 'p2', message(ALICE, 'fine'))]);
    expect(next?.ok).toBe(true);
    // Asked again (redelivered): the recorded refusal, no new attempt.
    const commits = storage.commits;
    expect(await writer.handleBatch([poisoned])).toEqual([refused]);
    expect(storage.commits).toBe(commits);
    // With others: the whole batch fails (nothing of it committed), for the bus to deliver one by one.
    await expect(writer.handleBatch([send(room, 'p3', message(ALICE, 'ok')), send(room, 'p4', message(ALICE, 'x\u0000'))])).rejects.toMatchObject({ driverError: { code: '22021' } });
    expect(storage.results.has('p3')).toBe(false);
    const [p3] = await writer.handleBatch([send(room, 'p3', message(ALICE, 'ok'))]);
    expect(p3?.ok).toBe(true);
  });

  it('answers a request it has seen with the recorded outcome, and a request repeated in a batch once', async () => {
    const storage = new FakeStorage();
    const writer = new RoomWriter(storage, signer);
    const room = await createRoom(storage, writer, 'idem');
    const [sent] = await writer.handleBatch([send(room, 'same', message(ALICE, 'once'))]);
    const commits = storage.commits;
    const events = storage.events.size;
    const again = await writer.handleBatch([send(room, 'same', message(ALICE, 'once'))]);
    expect(again).toEqual([sent]);
    // The optimistic commit was undone; the recorded outcome was read once.
    expect(storage.commits).toBe(commits);
    expect(storage.resultReads).toBe(1);
    const [x, y] = await writer.handleBatch([send(room, 'twice', message(ALICE, 'dup')), send(room, 'twice', message(ALICE, 'dup'))]);
    expect(x).toEqual(y);
    expect(storage.events.size).toBe(events + 1);
  });

  it('rebuilds on the new head when another writer appended meanwhile (fencing), without forking', async () => {
    const storage = new FakeStorage();
    const writer = new RoomWriter(storage, signer);
    const other = new RoomWriter(storage, signer);
    const room = await createRoom(storage, writer, 'fence');
    await writer.handleBatch([send(room, 'f1', message(ALICE, 'mine'))]);
    // Another replica (the partition moved away and back) appends on the same head.
    const [theirs] = await other.handleBatch([send(room, 'f2', message(ALICE, 'theirs'))]);
    const commits = storage.commits;
    const [mine] = await writer.handleBatch([send(room, 'f3', message(ALICE, 'mine again'))]);
    if (theirs?.ok !== true || mine?.ok !== true) throw new Error('expected both accepted');
    // The cached head was stale: one refused commit, then a rebuild on their event.
    expect(storage.commits - commits).toBe(2);
    expect(prevOf(storage, mine.eventId)).toEqual([theirs.eventId]);
    expect(storage.rooms.get(room)!.extremities).toEqual([mine.eventId]);
  });

  it('refuses every input of an unknown room with M_NOT_FOUND, recorded', async () => {
    const storage = new FakeStorage();
    const writer = new RoomWriter(storage, signer);
    const [outcome] = await writer.handleBatch([send('!nowhere:hs.test', 'n1', message(ALICE, 'hello'))]);
    expect(outcome).toMatchObject({ ok: false, error: { errcode: 'M_NOT_FOUND' } });
    expect(storage.results.get('n1')).toMatchObject({ errcode: 'M_NOT_FOUND' });
  });
});
