import { remoteEventRequestId, type ProtoEvent } from '@axon/contracts-kafka';
import type { JsonObject } from '@axon/matrix-canonical-json';
import type { EventId, RoomId } from '@axon/matrix-identifiers';
import { MatrixError } from '@axon/matrix-errors';
import { computeEventId, signEvent } from '@axon/matrix-signing';
import { openRoomServerFixture, rulesOf, type RoomServerFixture } from '../testing/room-server-fixture';
import { createRoomQuery } from './room-query';

const ALICE = '@alice:hs.test';
const BOB = '@bob:remote.test';
const context = {} as never;

let fixture: RoomServerFixture;

beforeAll(async () => {
  fixture = await openRoomServerFixture();
});

afterAll(async () => {
  await fixture.close();
});

async function send(roomId: RoomId, event: ProtoEvent): Promise<EventId> {
  const outcome = await fixture.writer.handle({ kind: 'new_event', request_id: `q-${Math.random()}`, room_id: roomId, event });
  if (!outcome.ok) throw outcome.error;
  return outcome.eventId;
}

const message = (body: string): ProtoEvent => ({ type: 'm.room.message', sender: ALICE, content: { msgtype: 'm.text', body } });

describe.each(['10', '12'])('federation queries, room version %s', (version) => {
  it('builds a join template another server can sign and send back, which the room then accepts', async () => {
    const roomId = await fixture.createRoom(version, ALICE);
    const query = createRoomQuery(fixture.storage);
    const { roomVersion, templateJson } = await query.buildEventTemplate({ roomId, type: 'm.room.member', stateKey: BOB, sender: BOB, contentJson: JSON.stringify({ membership: 'join' }) }, context);
    expect(roomVersion).toBe(version);
    const template = JSON.parse(templateJson) as JsonObject;
    const [latest] = (await query.getLatestEvents({ roomId }, context)).events;
    expect(template).toMatchObject({ room_id: roomId, sender: BOB, type: 'm.room.member', state_key: BOB, content: { membership: 'join' }, prev_events: [latest!.eventId] });
    expect(template['hashes']).toBeUndefined();
    expect(template['signatures']).toBeUndefined();

    // remote.test completes and signs it, as a joining server does, and sends it back.
    const rules = rulesOf(version);
    const { remote } = fixture;
    const signed = signEvent(template, { serverName: remote.serverName, key: remote.key, backend: remote.backend, redactionRules: rules.redaction, mode: 'strict' });
    const eventId = computeEventId(signed, rules.eventFormat, rules.redaction);
    const outcome = await fixture.writer.handle({ kind: 'remote_event', request_id: remoteEventRequestId(eventId), room_id: roomId, origin: 'remote.test', pdu_json: JSON.stringify(signed) });
    expect(outcome).toEqual({ ok: true, roomId, eventId });
    expect((await query.getMembership({ roomId, userId: BOB }, context)).membership).toBe('join');
  });

  it('refuses a template the current state would not allow, and one for an unknown room', async () => {
    const roomId = await fixture.createRoom(version, ALICE);
    await send(roomId, { type: 'm.room.join_rules', state_key: '', sender: ALICE, content: { join_rule: 'invite' } });
    const query = createRoomQuery(fixture.storage);
    await expect(query.buildEventTemplate({ roomId, type: 'm.room.member', stateKey: BOB, sender: BOB, contentJson: '{"membership":"join"}' }, context)).rejects.toMatchObject({ errcode: 'M_FORBIDDEN' });
    await send(roomId, { type: 'm.room.member', state_key: BOB, sender: ALICE, content: { membership: 'invite' } });
    await expect(query.buildEventTemplate({ roomId, type: 'm.room.member', stateKey: BOB, sender: BOB, contentJson: '{"membership":"join"}' }, context)).resolves.toMatchObject({ roomVersion: version });
    const unknown = query.buildEventTemplate({ roomId: '!nowhere:hs.test', type: 'm.room.member', stateKey: BOB, sender: BOB, contentJson: '{"membership":"join"}' }, context);
    await expect(unknown).rejects.toBeInstanceOf(MatrixError);
    await expect(unknown).rejects.toMatchObject({ errcode: 'M_NOT_FOUND' });
  });

  it('walks the DAG backwards, deepest first: backfill from the latest event, missing events down to the known ones', async () => {
    const roomId = await fixture.createRoom(version, ALICE);
    const sent: EventId[] = [];
    for (let i = 0; i < 8; i++) sent.push(await send(roomId, message(`m${i}`)));
    const query = createRoomQuery(fixture.storage);
    const ids = async (request: Parameters<typeof query.walkPrevEvents>[0]): Promise<string[]> => (await query.walkPrevEvents(request, context)).events.map((e) => e.eventId);

    // backfill: the given event and those before it.
    expect(await ids({ roomId, fromEventIds: [sent[7]!], stopEventIds: [], limit: 3, minDepth: '0', includeFrom: true })).toEqual([sent[7], sent[6], sent[5]]);
    // The whole room, down to the create event.
    const all = await ids({ roomId, fromEventIds: [sent[7]!], stopEventIds: [], limit: 100, minDepth: '0', includeFrom: true });
    expect(all).toHaveLength(12);
    expect(all.slice(0, 8)).toEqual([...sent].reverse());
    // get_missing_events: between the asking server's earliest (m2) and latest (m7) events.
    expect(await ids({ roomId, fromEventIds: [sent[7]!], stopEventIds: [sent[2]!], limit: 10, minDepth: '0', includeFrom: false })).toEqual([sent[6], sent[5], sent[4], sent[3]]);
    // min_depth: nothing shallower.
    const depthOf5 = JSON.parse((await query.getEvents({ eventIds: [sent[5]!], includeOutliers: false }, context)).events[0]!.pduJson).depth as number;
    expect(await ids({ roomId, fromEventIds: [sent[7]!], stopEventIds: [], limit: 10, minDepth: String(depthOf5), includeFrom: false })).toEqual([sent[6], sent[5]]);
    // Another room's events are never walked into.
    const other = await fixture.createRoom(version, ALICE);
    expect(await ids({ roomId: other, fromEventIds: [sent[7]!], stopEventIds: [], limit: 10, minDepth: '0', includeFrom: true })).toEqual([]);
  });
});
