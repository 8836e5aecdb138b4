import { roomStorageForWriter } from './writer-storage';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join as joinPath } from 'node:path';
import type { ProtoEvent, RoomInput, RoomOutput, SentTransaction } from '@axon/contracts-kafka';
import type { JsonObject } from '@axon/matrix-canonical-json';
import type { EventId, RoomId } from '@axon/matrix-identifiers';
import { getRoomVersionRules, type RoomVersionRules } from '@axon/matrix-room-versions';
import { checkContentHash, computeEventId, createNativeEd25519Backend, encodeVerifyKey, generateSigningKey, verifyEventSignatures } from '@axon/matrix-signing';
import { Database } from '@axon/platform-database';
import type { Signer } from '../events/event-builder';
import { createRoomQuery } from '../query/room-query';
import { ROOM_SERVER_MIGRATIONS } from '../storage/migrations';
import { RoomStorage } from '../storage/room-storage';
import { STATE_GROUP_MAX_DEPTH } from '../storage/state.repository';
import { RoomWriter, type WriterInput } from './room-writer';

const SERVER = 'hs.test';
const ALICE = '@alice:hs.test';
const BOB = '@bob:hs.test';
const CAROL = '@carol:hs.test';

let database: Database;
let storage: RoomStorage;
let signer: Signer;
let writer: RoomWriter;
let counter = 0;

beforeAll(async () => {
  database = await Database.open({ dataDir: mkdtempSync(joinPath(tmpdir(), 'axon-rs-')), inMemory: true });
  storage = new RoomStorage(await database.dataSource({ schema: 'room_server', migrations: [...ROOM_SERVER_MIGRATIONS] }));
  const backend = await createNativeEd25519Backend();
  if (backend === undefined) throw new Error('no Ed25519');
  const key = generateSigningKey(backend, 'test');
  if (!key.ok) throw new Error(key.error);
  signer = { serverName: SERVER, key: key.value, backend };
  writer = new RoomWriter(roomStorageForWriter(storage), signer);
});

afterAll(async () => {
  await database.close();
});

const requestId = (): string => `req-${++counter}`;

function initialEvents(version: string, extra: ProtoEvent[] = []): ProtoEvent[] {
  const rules = getRoomVersionRules(version);
  if (!rules.ok) throw rules.error;
  const v12 = rules.value.authorization.explicitlyPrivilegeRoomCreators;
  return [
    { type: 'm.room.create', state_key: '', sender: ALICE, content: rules.value.authorization.useRoomCreateSender ? { room_version: version } : { creator: ALICE, room_version: version } },
    { type: 'm.room.member', state_key: ALICE, sender: ALICE, content: { membership: 'join', displayname: 'Alice' } },
    { type: 'm.room.power_levels', state_key: '', sender: ALICE, content: { users: v12 ? {} : { [ALICE]: 100 }, users_default: 0, events_default: 0, state_default: 50 } },
    { type: 'm.room.join_rules', state_key: '', sender: ALICE, content: { join_rule: 'public' } },
    { type: 'm.room.history_visibility', state_key: '', sender: ALICE, content: { history_visibility: 'shared' } },
    ...extra,
  ];
}

async function createRoom(version: string, extra: ProtoEvent[] = []): Promise<RoomId> {
  const outcome = await writer.handle({ kind: 'create_room', request_id: requestId(), room_version: version, events: initialEvents(version, extra) });
  if (!outcome.ok) throw outcome.error;
  return outcome.roomId;
}

async function send(roomId: string, event: ProtoEvent, id = requestId(), by: RoomWriter = writer) {
  return by.handle({ kind: 'new_event', request_id: id, room_id: roomId, event } satisfies RoomInput);
}

const message = (sender: string, body: string): ProtoEvent => ({ type: 'm.room.message', sender, content: { msgtype: 'm.text', body } });
const join = (user: string): ProtoEvent => ({ type: 'm.room.member', state_key: user, sender: user, content: { membership: 'join' } });

function rulesOf(version: string): RoomVersionRules {
  const rules = getRoomVersionRules(version);
  if (!rules.ok) throw rules.error;
  return rules.value;
}

describe.each(['1', '6', '10', '11', '12'])('room version %s', (version) => {
  it('creates a room with its initial state, signed, hashed and linked in order', async () => {
    const roomId = await createRoom(version);
    const rules = rulesOf(version);
    if (rules.authorization.roomIdIsCreateEventId) expect(roomId).toMatch(/^![A-Za-z0-9_-]{43}$/);
    else expect(roomId).toMatch(/^![A-Za-z0-9]+:hs\.test$/);
    const state = await storage.state.current(storage.db, roomId);
    expect(state.map((event) => event.type).sort()).toEqual(['m.room.create', 'm.room.history_visibility', 'm.room.join_rules', 'm.room.member', 'm.room.power_levels']);
    const events = await storage.timeline.paginate(storage.db, roomId, { direction: 'f', limit: 10 });
    expect(events.map((event) => event.room_seq)).toEqual([1, 2, 3, 4, 5]);
    const mode = rules.eventFormat.strictCanonicalJson ? 'strict' : 'lenient';
    const verifyKey = encodeVerifyKey(signer.key, signer.backend);
    for (const [index, stored] of events.entries()) {
      const pdu = JSON.parse(stored.pdu_json) as JsonObject;
      expect(checkContentHash(pdu, { mode })).toBe('match');
      const verified = verifyEventSignatures(pdu, {
        signatureRules: rules.signatures,
        redactionRules: rules.redaction,
        mode,
        backend: signer.backend,
        keysFor: (server) => (server === SERVER ? { keys: { valid_until_ts: Date.now() + 60_000, verify_keys: { [signer.key.keyId]: { key: verifyKey } } } } : undefined),
      });
      expect(verified.ok).toBe(true);
      if (!rules.eventFormat.includesEventId) expect(computeEventId(pdu, rules.eventFormat, rules.redaction)).toBe(stored.event_id);
      // Each event's prev_events is the one before it; depth counts up.
      const prev = (pdu['prev_events'] as unknown[]).map((ref) => (Array.isArray(ref) ? ref[0] : ref));
      expect(prev).toEqual(index === 0 ? [] : [events[index - 1]!.event_id]);
      expect(pdu['depth']).toBe(index + 1);
    }
    const extremities = await storage.rooms.forwardExtremities(storage.db, roomId);
    expect(extremities.map((event) => event.event_id)).toEqual([events[4]!.event_id]);
  });

  it('appends a message with the right auth events, and refuses a non-member with M_FORBIDDEN', async () => {
    const roomId = await createRoom(version);
    const sent = await send(roomId, message(ALICE, 'hello'));
    expect(sent.ok).toBe(true);
    if (!sent.ok) return;
    const [stored] = await storage.events.byIds(storage.db, [sent.eventId]);
    const pdu = JSON.parse(stored!.pdu_json) as JsonObject;
    const authIds = (pdu['auth_events'] as unknown[]).map((ref) => (Array.isArray(ref) ? ref[0] : ref));
    const state = await storage.state.current(storage.db, roomId);
    const idOf = (type: string, stateKey: string) => state.find((event) => event.type === type && event.state_key === stateKey)!.event_id;
    const expected = [idOf('m.room.power_levels', ''), idOf('m.room.member', ALICE)];
    if (!rulesOf(version).authorization.roomIdIsCreateEventId) expected.unshift(idOf('m.room.create', ''));
    expect(authIds.sort()).toEqual(expected.sort());

    const refused = await send(roomId, message(BOB, 'not a member'));
    expect(refused.ok).toBe(false);
    if (!refused.ok) expect(refused.error.errcode).toBe('M_FORBIDDEN');
    const latest = await storage.timeline.paginate(storage.db, roomId, { direction: 'b', limit: 2 });
    expect(latest.map((event) => event.event_id)).toEqual([sent.eventId, (await storage.timeline.paginate(storage.db, roomId, { direction: 'f', limit: 5 }))[4]!.event_id]);
  });
});

describe('the write path', () => {
  it('is idempotent per request ID: a repeat returns the first outcome and appends nothing', async () => {
    const roomId = await createRoom('10');
    const first = await send(roomId, message(ALICE, 'once'), 'txn-1');
    const again = await send(roomId, message(ALICE, 'once'), 'txn-1');
    expect(again).toEqual(first);
    expect((await storage.timeline.paginate(storage.db, roomId, { direction: 'f', limit: 100 })).length).toBe(6);
    const refused = await send(roomId, message(BOB, 'x'), 'txn-2');
    const refusedAgain = await send(roomId, join(ALICE), 'txn-2');
    expect(refused.ok || refusedAgain.ok).toBe(false);
    if (!refusedAgain.ok) expect(refusedAgain.error.errcode).toBe('M_FORBIDDEN');
  });

  it('keeps one linear history when two writers append to one room at once (fencing)', async () => {
    const roomId = await createRoom('10', [join(BOB), join(CAROL)]);
    // Two instances that both believe they own the room (a rebalance), each working
    // through its own inputs in order, as the bus delivers them.
    const other = new RoomWriter(roomStorageForWriter(storage), signer);
    const instance = async (by: RoomWriter, sender: string) => {
      const outcomes = [];
      for (let index = 0; index < 10; index++) outcomes.push(await send(roomId, message(sender, `m${index}`), requestId(), by));
      return outcomes;
    };
    const results = (await Promise.all([instance(writer, BOB), instance(other, CAROL)])).flat();
    expect(results.every((result) => result.ok)).toBe(true);
    const events = await storage.timeline.paginate(storage.db, roomId, { direction: 'f', limit: 100 });
    expect(events.map((event) => event.room_seq)).toEqual(Array.from({ length: events.length }, (_, i) => i + 1));
    for (let index = 1; index < events.length; index++) {
      const prev = (JSON.parse(events[index]!.pdu_json) as { prev_events: string[] }).prev_events;
      expect(prev).toEqual([events[index - 1]!.event_id]);
    }
    expect((await storage.rooms.forwardExtremities(storage.db, roomId)).length).toBe(1);
    const acknowledged = new Set(results.map((result) => (result.ok ? result.eventId : '')));
    expect(events.filter((event) => acknowledged.has(event.event_id)).length).toBe(20);
  });

  it('stores state as deltas with periodic snapshots, and answers the state at any event', async () => {
    const roomId = await createRoom('10');
    const topics: string[] = [];
    for (let index = 0; index < STATE_GROUP_MAX_DEPTH + 10; index++) {
      const sent = await send(roomId, { type: 'm.room.topic', state_key: '', sender: ALICE, content: { topic: `t${index}` } });
      if (!sent.ok) throw sent.error;
      topics.push(sent.eventId);
    }
    const query = createRoomQuery(storage);
    const context = {} as never;
    const current = await query.getCurrentState({ roomId, types: [] }, context);
    for (const [index, eventId] of topics.entries()) {
      const after = await query.getStateAtEvent({ eventId, after: true }, context);
      const topic = after.events.find((event) => JSON.parse(event.pduJson).type === 'm.room.topic');
      expect(topic?.eventId).toBe(eventId);
      expect(after.events.length).toBe(current.events.length);
      if (index > 0) {
        const before = await query.getStateAtEvent({ eventId, after: false }, context);
        expect(before.events.find((event) => JSON.parse(event.pduJson).type === 'm.room.topic')?.eventId).toBe(topics[index - 1]);
      }
    }
  });

  it('applies redactions by the sender or a moderator, and refuses others', async () => {
    const roomId = await createRoom('11', [join(BOB), join(CAROL)]);
    const bobs = await send(roomId, message(BOB, 'oops'));
    if (!bobs.ok) throw bobs.error;
    const byCarol = await send(roomId, { type: 'm.room.redaction', sender: CAROL, content: {}, redacts: bobs.eventId });
    expect(byCarol.ok).toBe(false);
    if (!byCarol.ok) expect(byCarol.error.errcode).toBe('M_FORBIDDEN');
    const byBob = await send(roomId, { type: 'm.room.redaction', sender: BOB, content: { reason: 'typo' }, redacts: bobs.eventId });
    if (!byBob.ok) throw byBob.error;
    expect((await storage.events.byIds(storage.db, [bobs.eventId]))[0]!.redacted_by).toBe(byBob.eventId);
    // Room version 11 carries `redacts` in content.
    const [redaction] = await storage.events.byIds(storage.db, [byBob.eventId]);
    expect((JSON.parse(redaction!.pdu_json) as { content: { redacts?: string } }).content.redacts).toBe(bobs.eventId);
  });

  it("refuses a proto whose sender or top-level redacts does not parse as the signed PDU's check would (M_BAD_JSON)", async () => {
    const roomId = await createRoom('10');
    const badSender = await send(roomId, message('alice', 'x'));
    expect(badSender).toMatchObject({ ok: false, error: { errcode: 'M_BAD_JSON', message: 'sender user ID must start with "@"' } });
    const badTarget = await send(roomId, { type: 'm.room.redaction', sender: ALICE, content: {}, redacts: 'not-an-event' });
    expect(badTarget).toMatchObject({ ok: false, error: { errcode: 'M_BAD_JSON' } });
    if (!badTarget.ok) expect(badTarget.error.message).toMatch(/^redacts /);
  });

  it('accepts a room version 11 redaction whose content.redacts does not parse, redacting nothing', async () => {
    const roomId = await createRoom('11');
    const sent = await send(roomId, message(ALICE, 'kept'));
    if (!sent.ok) throw sent.error;
    const redaction = await send(roomId, { type: 'm.room.redaction', sender: ALICE, content: {}, redacts: 'not-an-event' });
    if (!redaction.ok) throw redaction.error;
    const outputs = (await storage.outbox.peek(storage.db, 10_000)).map((row) => JSON.parse(row.payload) as RoomOutput).filter((output) => output.event_id === redaction.eventId);
    expect(outputs).toHaveLength(1);
    expect(outputs[0]!.redacted_event_id).toBeUndefined();
    expect((await storage.events.byIds(storage.db, [sent.eventId]))[0]!.redacted_by).toBeNull();
  });

  it('writes one output message per event, in order, with the state it changed', async () => {
    await storage.outbox.delete(storage.db, (await storage.outbox.peek(storage.db, 10_000)).map((row) => row.id));
    const roomId = await createRoom('12');
    const sent = await send(roomId, { type: 'm.room.name', state_key: '', sender: ALICE, content: { name: 'One' } });
    const renamed = await send(roomId, { type: 'm.room.name', state_key: '', sender: ALICE, content: { name: 'Two' } });
    if (!sent.ok || !renamed.ok) throw new Error('send');
    const outputs = (await storage.outbox.peek(storage.db, 100)).map((row) => JSON.parse(row.payload) as RoomOutput).filter((output) => output.room_id === roomId);
    expect(outputs.map((output) => output.room_seq)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(outputs.map((output) => output.prev_room_seq)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(outputs[6]!.state_added).toEqual([['m.room.name', '', renamed.eventId]]);
    expect(outputs[6]!.state_removed).toEqual([['m.room.name', '', sent.eventId]]);
  });

  it("keeps a sending device's transaction beside its event, out of the signed PDU, for RoomQuery and the output", async () => {
    const roomId = await createRoom('10');
    const phone = { device_id: 'PHONE', txn_id: 'm1.1' };
    const laptop = { device_id: 'LAPTOP', txn_id: 'm1.2' };
    // In one batch: a message and a state event go through the two insert paths (a run of
    // messages in one statement, a state event alone).
    const input = (event: ProtoEvent, transaction?: SentTransaction): WriterInput => ({
      input: { kind: 'new_event', request_id: requestId(), room_id: roomId, event, ...(transaction === undefined ? {} : { transaction }) },
      traceContext: {},
    });
    const outcomes = await writer.handleBatch([
      input(message(ALICE, 'from the phone'), phone),
      input({ type: 'm.room.topic', state_key: '', sender: ALICE, content: { topic: 't' } }, laptop),
      input(message(ALICE, 'without one')),
    ]);
    const ids = outcomes.map((outcome) => {
      if (!outcome.ok) throw outcome.error;
      return outcome.eventId;
    });

    const stored = await storage.events.byIds(storage.db, ids);
    for (const event of stored) expect(event.pdu_json).not.toMatch(/PHONE|LAPTOP|m1\.[12]|transaction/);
    const { events } = await createRoomQuery(storage).getEvents({ eventIds: ids, includeOutliers: false }, {} as never);
    expect(events.map((event) => event.transaction)).toEqual([{ deviceId: 'PHONE', txnId: 'm1.1' }, { deviceId: 'LAPTOP', txnId: 'm1.2' }, undefined]);
    const outputs = (await storage.outbox.peek(storage.db, 10_000)).map((row) => JSON.parse(row.payload) as RoomOutput).filter((output) => ids.includes(output.event_id as EventId));
    expect(outputs.map((output) => output.transaction)).toEqual([phone, laptop, undefined]);
  });

  it('refuses unknown rooms and unsupported room versions with the spec\'s errors', async () => {
    const unknown = await send('!nope:hs.test', message(ALICE, 'x'));
    expect(!unknown.ok && unknown.error.errcode).toBe('M_NOT_FOUND');
    // A room ID that does not parse names no room: refused alike, and recorded.
    const malformed = await send('nope', message(ALICE, 'x'), 'malformed-room');
    expect(malformed).toMatchObject({ ok: false, error: { errcode: 'M_NOT_FOUND', message: 'unknown room nope', status: 404 } });
    expect(await storage.inputResults.get(storage.db, 'malformed-room')).toMatchObject({ room_id: null, errcode: 'M_NOT_FOUND' });
    const created = await writer.handle({ kind: 'create_room', request_id: requestId(), room_version: '99', events: initialEvents('10') });
    expect(!created.ok && created.error.errcode).toBe('M_UNSUPPORTED_ROOM_VERSION');
  });
});
