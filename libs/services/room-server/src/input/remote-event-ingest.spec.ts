import { remoteEventRequestId, type ProtoEvent, type RoomOutput } from '@axon/contracts-kafka';
import type { JsonObject } from '@axon/matrix-canonical-json';
import { parseStateKey, selectAuthEventKeys } from '@axon/matrix-event-auth';
import type { EventId, RoomId } from '@axon/matrix-identifiers';
import { buildLocalEvent, type BuiltEvent, type ReferencedEvent, type Signer } from '../events/event-builder';
import type { RoomStorage } from '../storage/room-storage';
import type { StoredEvent } from '../storage/rows';
import { openRoomServerFixture, rulesOf, type RoomServerFixture } from '../testing/room-server-fixture';
import type { InputOutcome, RoomWriter } from './room-writer';

// A room of `hs.test` (this server) that users of `remote.test` join and write to: their
// events are built and signed by a signer of that server, then handed to the writer as
// received PDUs, as the federation receiver hands them over.
const ALICE = '@alice:hs.test';
const BOB = '@bob:remote.test';
const CAROL = '@carol:remote.test';

let fixture: RoomServerFixture;
let storage: RoomStorage;
let local: Signer;
let remote: Signer;
let writer: RoomWriter;
let counter = 0;

beforeAll(async () => {
  fixture = await openRoomServerFixture();
  ({ storage, local, remote, writer } = fixture);
});

afterAll(async () => {
  await fixture.close();
});

const createRoom = (version: string): Promise<RoomId> => fixture.createRoom(version, ALICE);

const current = async (roomId: RoomId): Promise<StoredEvent[]> => storage.state.current(storage.db, roomId);
const stateId = async (roomId: RoomId, type: string, stateKey: string): Promise<EventId | undefined> => (await current(roomId)).find((e) => e.type === type && e.state_key === stateKey)?.event_id;
const extremities = async (roomId: RoomId): Promise<EventId[]> => (await storage.rooms.forwardExtremities(storage.db, roomId)).map((e) => e.event_id).sort();
const event = async (id: EventId): Promise<StoredEvent> => (await storage.events.byIds(storage.db, [id]))[0]!;
const outputs = async (roomId: RoomId): Promise<RoomOutput[]> =>
  ((await storage.db.query(`SELECT payload FROM outbox WHERE room_id = $1 ORDER BY id`, [roomId])) as Array<{ payload: string }>).map((row) => JSON.parse(row.payload) as RoomOutput);

/** A remote server's event on `prev`, citing the auth events the selection asks for from `state` (default: the current state). */
async function remoteEvent(version: string, roomId: RoomId, proto: ProtoEvent, prev: readonly ReferencedEvent[], state?: readonly StoredEvent[]): Promise<BuiltEvent> {
  const rules = rulesOf(version);
  const from = state ?? (await current(roomId));
  const keys = selectAuthEventKeys({ ...proto, content: proto.content as JsonObject }, rules.authorization);
  const authEvents = keys.flatMap((key) => {
    const [type, stateKey] = parseStateKey(key);
    const found = from.find((e) => e.type === type && e.state_key === stateKey);
    return found === undefined ? [] : [found];
  });
  return buildLocalEvent(proto, { rules, roomId, prevEvents: prev, authEvents, signer: remote, now: fixture.now() });
}

function receive(roomId: RoomId, built: BuiltEvent | string, extra: { outliers?: string[]; state_before?: string[] } = {}): Promise<InputOutcome> {
  const pduJson = typeof built === 'string' ? built : built.pduJson;
  const eventId = typeof built === 'string' ? 'x' : built.eventId;
  return writer.handle({ kind: 'remote_event', request_id: remoteEventRequestId(eventId), room_id: roomId, origin: 'remote.test', pdu_json: pduJson, ...extra });
}

const ref = (built: BuiltEvent): ReferencedEvent => ({ event_id: built.eventId, depth: built.authEvent.depth, pdu_json: built.pduJson });
const head = async (roomId: RoomId): Promise<ReferencedEvent[]> => storage.rooms.forwardExtremities(storage.db, roomId);
const joinOf = (user: string): ProtoEvent => ({ type: 'm.room.member', state_key: user, sender: user, content: { membership: 'join' } });
const message = (sender: string, body: string): ProtoEvent => ({ type: 'm.room.message', sender, content: { msgtype: 'm.text', body } });

describe.each(['10', '12'])('received PDUs, room version %s', (version) => {
  it('accepts a remote join and message into the timeline, with their state and outputs, and a local send builds on them', async () => {
    const roomId = await createRoom(version);
    const join = await remoteEvent(version, roomId, joinOf(BOB), await head(roomId));
    expect(await receive(roomId, join)).toEqual({ ok: true, roomId, eventId: join.eventId });
    expect(await stateId(roomId, 'm.room.member', BOB)).toBe(join.eventId);
    expect((await storage.memberships.of(storage.db, roomId, BOB as never))?.membership).toBe('join');
    const msg = await remoteEvent(version, roomId, message(BOB, 'hi from afar'), [ref(join)]);
    expect((await receive(roomId, msg)).ok).toBe(true);
    expect(await extremities(roomId)).toEqual([msg.eventId]);

    const out = await outputs(roomId);
    const last = out.slice(-2);
    expect(last.map((o) => o.event_id)).toEqual([join.eventId, msg.eventId]);
    expect(last.map((o) => o.room_seq)).toEqual([5, 6]);
    expect(last[0]!.state_added).toEqual([['m.room.member', BOB, join.eventId]]);
    expect(last[1]!.state_added).toEqual([]);

    const reply = await writer.handle({ kind: 'new_event', request_id: `r-${++counter}`, room_id: roomId, event: message(ALICE, 'welcome') });
    if (!reply.ok) throw reply.error;
    const pdu = JSON.parse((await event(reply.eventId)).pdu_json) as JsonObject;
    expect(JSON.stringify(pdu['prev_events'])).toContain(msg.eventId);

    // The same PDU again (redelivered, or from another server): the same outcome, nothing new.
    expect(await receive(roomId, msg)).toEqual({ ok: true, roomId, eventId: msg.eventId });
    expect((await outputs(roomId)).length).toBe(out.length + 1);
  });

  it('rejects an event its auth events do not allow: stored as rejected, never in the timeline or the state', async () => {
    const roomId = await createRoom(version);
    const before = await outputs(roomId);
    // Carol never joined: her message cites no membership of hers.
    const intruder = await remoteEvent(version, roomId, message(CAROL, 'let me in'), await head(roomId));
    const outcome = await receive(roomId, intruder);
    expect(outcome.ok).toBe(false);
    if (!outcome.ok) expect(outcome.error.errcode).toBe('M_FORBIDDEN');
    expect((await event(intruder.eventId)).status).toBe('rejected');
    expect((await event(intruder.eventId)).room_seq).toBeNull();
    expect(await outputs(roomId)).toEqual(before);
    expect(await extremities(roomId)).not.toContain(intruder.eventId);
    // A state event citing the wrong auth events is rejected too (rule 2: the selection).
    const state = await current(roomId);
    const topic = await remoteEvent(version, roomId, { type: 'm.room.topic', state_key: '', sender: BOB, content: { topic: 'mine' } }, await head(roomId), state);
    expect((await receive(roomId, topic)).ok).toBe(false);
    expect(await stateId(roomId, 'm.room.topic', '')).toBeUndefined();
  });

  it('soft-fails an event allowed by the state before it but not by the current state', async () => {
    const roomId = await createRoom(version);
    const join = await remoteEvent(version, roomId, joinOf(BOB), await head(roomId));
    await receive(roomId, join);
    const stateAtJoin = await current(roomId);
    const ban = await writer.handle({ kind: 'new_event', request_id: `b-${++counter}`, room_id: roomId, event: { type: 'm.room.member', state_key: BOB, sender: ALICE, content: { membership: 'ban' } } });
    expect(ban.ok).toBe(true);
    const count = (await outputs(roomId)).length;
    // Bob, not having seen the ban, writes on his join.
    const late = await remoteEvent(version, roomId, message(BOB, 'did not see the ban'), [ref(join)], stateAtJoin);
    expect(await receive(roomId, late)).toEqual({ ok: true, roomId, eventId: late.eventId });
    expect((await event(late.eventId)).status).toBe('soft_failed');
    expect((await outputs(roomId)).length).toBe(count);
    expect(await extremities(roomId)).not.toContain(late.eventId);
    const page = await storage.timeline.paginate(storage.db, roomId, { direction: 'b', limit: 5 });
    expect(page.map((e) => e.event_id)).not.toContain(late.eventId);
  });

  it('resolves the state when the DAG forks, and the next local event closes the fork', async () => {
    const roomId = await createRoom(version);
    const join = await remoteEvent(version, roomId, joinOf(BOB), await head(roomId));
    await receive(roomId, join);
    const atJoin = await current(roomId);
    // Two events on the join: Bob renames himself, and (concurrently) sends a message.
    const rename = await remoteEvent(version, roomId, { ...joinOf(BOB), content: { membership: 'join', displayname: 'Bobby' } }, [ref(join)], atJoin);
    const msg = await remoteEvent(version, roomId, message(BOB, 'meanwhile'), [ref(join)], atJoin);
    expect((await receive(roomId, rename)).ok).toBe(true);
    expect((await receive(roomId, msg)).ok).toBe(true);
    expect(await extremities(roomId)).toEqual([rename.eventId, msg.eventId].sort());
    // The message's branch still has the join; the resolution keeps the rename.
    expect(await stateId(roomId, 'm.room.member', BOB)).toBe(rename.eventId);
    const msgOutput = (await outputs(roomId)).at(-1)!;
    expect(msgOutput.event_id).toBe(msg.eventId);
    expect(msgOutput.state_added).toEqual([]);

    const next = await writer.handle({ kind: 'new_event', request_id: `n-${++counter}`, room_id: roomId, event: message(ALICE, 'joining the branches') });
    if (!next.ok) throw next.error;
    const prevs = JSON.stringify((JSON.parse((await event(next.eventId)).pdu_json) as JsonObject)['prev_events']);
    expect(prevs).toContain(rename.eventId);
    expect(prevs).toContain(msg.eventId);
    expect(await extremities(roomId)).toEqual([next.eventId]);
  });

  it('a state change on a fork that loses the resolution leaves the current state alone', async () => {
    const roomId = await createRoom(version);
    const join = await remoteEvent(version, roomId, joinOf(BOB), await head(roomId));
    await receive(roomId, join);
    const atJoin = await current(roomId);
    const ban = await writer.handle({ kind: 'new_event', request_id: `b-${++counter}`, room_id: roomId, event: { type: 'm.room.member', state_key: BOB, sender: ALICE, content: { membership: 'ban' } } });
    if (!ban.ok) throw ban.error;
    // On a branch from before the ban, Bob changes his name: allowed there, but the ban
    // (a power event of the room's admin) wins the resolution; he stays banned.
    const rename = await remoteEvent(version, roomId, { ...joinOf(BOB), content: { membership: 'join', displayname: 'sneaky' } }, [ref(join)], atJoin);
    const outcome = await receive(roomId, rename);
    expect(outcome.ok).toBe(true);
    expect((await storage.memberships.of(storage.db, roomId, BOB as never))?.membership).toBe('ban');
    expect(await stateId(roomId, 'm.room.member', BOB)).toBe(ban.eventId);
  });

  it('takes an event whose prev events are unknown only with the state before it, its missing auth events as outliers', async () => {
    const roomId = await createRoom(version);
    const join = await remoteEvent(version, roomId, joinOf(BOB), await head(roomId));
    // The join never arrived here; a message on it did.
    const atJoin = [...(await current(roomId)), { ...(await current(roomId))[0]!, event_id: join.eventId, type: 'm.room.member', state_key: BOB, pdu_json: join.pduJson }];
    const msg = await remoteEvent(version, roomId, message(BOB, 'after a gap'), [ref(join)], atJoin);
    const unknown = await receive(roomId, msg);
    expect(unknown.ok).toBe(false);
    if (!unknown.ok) expect(unknown.error.errcode).toBe('M_NOT_FOUND');
    expect(await storage.events.byIds(storage.db, [msg.eventId])).toEqual([]);

    // With the state before it (the receiver's /state_ids) and the join as an outlier, it
    // passes its auth events and that state; the current state has no join of Bob's, so it
    // is soft-failed, and the join stays an outlier.
    const stateBefore = atJoin.map((e) => e.event_id);
    expect(await receive(roomId, msg, { outliers: [join.pduJson], state_before: stateBefore })).toEqual({ ok: true, roomId, eventId: msg.eventId });
    expect((await event(join.eventId)).status).toBe('outlier');
    expect((await event(msg.eventId)).status).toBe('soft_failed');
    expect(await stateId(roomId, 'm.room.member', BOB)).toBeUndefined();
  });

  it('accepts an event after a gap into the timeline beside the room\'s head', async () => {
    const roomId = await createRoom(version);
    const join = await remoteEvent(version, roomId, joinOf(BOB), await head(roomId));
    await receive(roomId, join);
    const atJoin = await current(roomId);
    const missed = await remoteEvent(version, roomId, message(BOB, 'lost on the way'), [ref(join)], atJoin);
    const next = await remoteEvent(version, roomId, message(BOB, 'after a gap'), [ref(missed)], atJoin);
    expect(await receive(roomId, next, { state_before: atJoin.map((e) => e.event_id) })).toEqual({ ok: true, roomId, eventId: next.eventId });
    expect((await event(next.eventId)).status).toBeNull();
    expect(await extremities(roomId)).toEqual([join.eventId, next.eventId].sort());
    const last = (await outputs(roomId)).at(-1)!;
    expect(last.event_id).toBe(next.eventId);
    expect(last.state_added).toEqual([]);
  });

  it('creates a room this server joins through another with the state the resident server gave, and goes on from the join', async () => {
    const rules = rulesOf(version);
    const DAVE = '@dave:remote.test';
    const v12 = rules.authorization.explicitlyPrivilegeRoomCreators;
    // The room as remote.test made it: never seen here.
    const built: BuiltEvent[] = [];
    const chain = async (proto: ProtoEvent, roomId: RoomId | undefined): Promise<BuiltEvent> => {
      const state = built.filter((e) => e.authEvent.state_key !== undefined).map((e) => ({ event_id: e.eventId, type: e.authEvent.type, state_key: e.authEvent.state_key!, depth: e.authEvent.depth, pdu_json: e.pduJson })) as unknown as StoredEvent[];
      const keys = selectAuthEventKeys({ ...proto, content: proto.content as JsonObject }, rules.authorization);
      const authEvents = keys.flatMap((key) => {
        const [type, stateKey] = parseStateKey(key);
        const found = [...state].reverse().find((e) => e.type === type && e.state_key === stateKey);
        return found === undefined ? [] : [found];
      });
      const last = built.at(-1);
      const event = buildLocalEvent(proto, { rules, roomId, prevEvents: last === undefined ? [] : [ref(last)], authEvents, signer: proto.sender === ALICE ? local : remote, now: fixture.now() });
      built.push(event);
      return event;
    };
    const named = `!made${++counter}:remote.test` as RoomId;
    const create = await chain({ type: 'm.room.create', state_key: '', sender: DAVE, content: rules.authorization.useRoomCreateSender ? { room_version: version } : { creator: DAVE, room_version: version } }, v12 ? undefined : named);
    const roomId = v12 ? (`!${create.eventId.slice(1)}` as RoomId) : named;
    await chain(joinOf(DAVE), roomId);
    await chain({ type: 'm.room.power_levels', state_key: '', sender: DAVE, content: { users: v12 ? {} : { [DAVE]: 100 } } }, roomId);
    await chain({ type: 'm.room.join_rules', state_key: '', sender: DAVE, content: { join_rule: 'public' } }, roomId);
    const residentState = [...built];
    const join = await chain(joinOf(ALICE), roomId);

    const outcome = await writer.handle({
      kind: 'remote_event',
      request_id: remoteEventRequestId(join.eventId),
      room_id: roomId,
      origin: 'remote.test',
      pdu_json: join.pduJson,
      outliers: residentState.map((e) => e.pduJson),
      state_before: residentState.map((e) => e.eventId),
      room_version: version,
    });
    expect(outcome).toEqual({ ok: true, roomId, eventId: join.eventId });
    expect((await current(roomId)).map((e) => e.event_id).sort()).toEqual([...residentState, join].map((e) => e.eventId).sort());
    expect((await storage.memberships.of(storage.db, roomId, ALICE as never))?.membership).toBe('join');
    const [first] = await outputs(roomId);
    expect(first).toMatchObject({ event_id: join.eventId, room_seq: 1, prev_room_seq: 0 });
    expect(first!.state_added.map(([, , id]) => id).sort()).toEqual([...residentState, join].map((e) => e.eventId).sort());
    expect(await extremities(roomId)).toEqual([join.eventId]);

    const hello = await remoteEvent(version, roomId, message(DAVE, 'welcome over'), [ref(join)]);
    expect((await receive(roomId, hello)).ok).toBe(true);
    const reply = await writer.handle({ kind: 'new_event', request_id: `r-${++counter}`, room_id: roomId, event: message(ALICE, 'thanks') });
    if (!reply.ok) throw reply.error;
    expect(await extremities(roomId)).toEqual([reply.eventId]);
  });

  it('refuses a PDU of another room or one that is not a PDU of the room version, storing nothing', async () => {
    const roomId = await createRoom(version);
    const other = await createRoom(version);
    const join = await remoteEvent(version, other, joinOf(BOB), await head(other));
    const wrongRoom = await receive(roomId, join);
    expect(wrongRoom.ok).toBe(false);
    if (!wrongRoom.ok) expect(wrongRoom.error.errcode).toBe('M_BAD_JSON');
    const garbage = await writer.handle({ kind: 'remote_event', request_id: 'pdu:garbage', room_id: roomId, origin: 'remote.test', pdu_json: '{"type": 1}' });
    expect(garbage.ok).toBe(false);
    if (!garbage.ok) expect(garbage.error.errcode).toBe('M_BAD_JSON');
    expect(await storage.events.byIds(storage.db, [join.eventId])).toEqual([]);
  });
});
