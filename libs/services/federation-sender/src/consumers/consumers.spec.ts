import type { RoomOutput } from '@axon/contracts-kafka';
import type { RoomId, ServerName, UserId } from '@axon/matrix-identifiers';
import type { DeliveredMessage, MessageBus } from '@axon/platform-bus';
import type { Wakeups } from '@axon/platform-cache';
import type { EduToQueue, PduToQueue, QueueWriter } from '../delivery/ports';
import { pduDestinations } from './destinations';
import { EduConsumer } from './edu.consumer';
import type { RoomMembership } from './room-membership';
import { RoomOutputConsumer } from './room-output.consumer';

const LOCAL = 'origin.test' as ServerName;
const ROOM = '!room:origin.test';
const s = (name: string) => name as ServerName;
/** An event ID of room versions 4 and later. */
const KICK = `$${'k'.repeat(43)}`;

describe('pduDestinations', () => {
  const joined = [s('origin.test'), s('a.test'), s('b.test')];

  it.each([
    ['a local user’s message: every other server with a joined member', { sender: '@alice:origin.test', type: 'm.room.message' }, ['a.test', 'b.test']],
    ['a remote user’s event: nowhere (its origin sends it)', { sender: '@bob:a.test', type: 'm.room.message' }, []],
    ['a local kick of a remote user: the joined servers and the target’s', { sender: '@alice:origin.test', type: 'm.room.member', state_key: '@carol:c.test' }, ['a.test', 'b.test', 'c.test']],
    ['a local invite of a remote user', { sender: '@alice:origin.test', type: 'm.room.member', state_key: '@dan:d.test:8448' }, ['a.test', 'b.test', 'd.test:8448']],
    ['a local user’s own membership: no extra server', { sender: '@alice:origin.test', type: 'm.room.member', state_key: '@alice:origin.test' }, ['a.test', 'b.test']],
    ['a state event whose key looks like a user: no extra server', { sender: '@alice:origin.test', type: 'm.room.power_levels', state_key: '@carol:c.test' }, ['a.test', 'b.test']],
  ])('%s', (_, pdu, expected) => {
    expect(pduDestinations(pdu, joined, LOCAL)).toEqual(expected);
  });

  it('never sends to this server, even when it is the only one', () => {
    expect(pduDestinations({ sender: '@alice:origin.test', type: 'm.room.message' }, [LOCAL], LOCAL)).toEqual([]);
  });

  it('sends a join it took as the resident (send_join) to every other server but the joiner\'s', () => {
    const join = { sender: '@carol:c.test', type: 'm.room.member', state_key: '@carol:c.test' };
    expect(pduDestinations(join, [...joined, s('c.test')], LOCAL, 'c.test')).toEqual(['a.test', 'b.test']);
    expect(pduDestinations(join, [...joined, s('c.test')], LOCAL)).toEqual([]);
  });
});

/** Records what the consumers queue and which wake-ups they send; membership from tables. */
function fakes(joinedAt: Record<string, string[]>, roomsOfUser: Record<string, string[]> = {}) {
  const queued: { pdus: PduToQueue[]; edus: EduToQueue[] } = { pdus: [], edus: [] };
  const asked: Array<[string, string | undefined]> = [];
  const queue: QueueWriter = {
    enqueue: async (rows) => {
      queued.pdus.push(...(rows.pdus ?? []));
      queued.edus.push(...(rows.edus ?? []));
      return { added: (rows.pdus?.length ?? 0) + (rows.edus?.length ?? 0), dropped: 0 };
    },
  };
  const membership: RoomMembership = {
    joinedServers: async (roomId: RoomId, atEventId?: string) => {
      asked.push([roomId, atEventId]);
      return new Set((joinedAt[atEventId ?? roomId] ?? []).map(s));
    },
    roomsOf: async (userId: UserId) => (roomsOfUser[userId] ?? []) as RoomId[],
  };
  const woken: string[] = [];
  const wakeups = { publish: async (channel: string) => void woken.push(channel), subscribe: async () => async () => undefined } as Wakeups;
  return { queue, membership, wakeups, queued, asked, woken, bus: {} as MessageBus };
}

const logger = { info: () => undefined, warn: () => undefined };

function output(eventId: string, pdu: Record<string, unknown>): DeliveredMessage<RoomOutput> {
  const value = { room_id: ROOM, event_id: eventId, pdu_json: JSON.stringify(pdu), room_version: '10', stream_ordering: '1', room_seq: 1, prev_room_seq: 0, state_added: [], state_removed: [] };
  return { topic: 'hs.room.output.v1', key: ROOM, value, headers: {}, partition: 0, offset: '0', timestamp: 0, attempt: 1, traceHeaders: {} };
}

describe('RoomOutputConsumer', () => {
  it('queues a local user’s event for the servers joined at that event, as it was signed, and wakes the senders', async () => {
    const f = fakes({ [KICK]: ['origin.test', 'a.test'] });
    const consumer = new RoomOutputConsumer(f.bus, f.queue, f.membership, f.wakeups, LOCAL, logger);
    const message = output(KICK, { sender: '@alice:origin.test', type: 'm.room.member', state_key: '@carol:c.test', content: { membership: 'ban' } });
    expect(await consumer.handle(message)).toEqual({ kind: 'ack' });
    expect(f.asked).toEqual([[ROOM, KICK]]);
    expect(f.queued.pdus).toEqual(['a.test', 'c.test'].map((destination) => ({ destination, roomId: ROOM, eventId: KICK, pduJson: message.value.pdu_json })));
    expect(f.woken).toEqual(['federation-sender']);
  });

  it('queues nothing for a remote user’s event, without asking the room server', async () => {
    const f = fakes({ $e: ['origin.test', 'a.test'] });
    const consumer = new RoomOutputConsumer(f.bus, f.queue, f.membership, f.wakeups, LOCAL, logger);
    expect(await consumer.handle(output('$e', { sender: '@bob:a.test', type: 'm.room.message', content: {} }))).toEqual({ kind: 'ack' });
    expect([f.asked, f.queued.pdus, f.woken]).toEqual([[], [], []]);
  });
});

describe('EduConsumer', () => {
  const make = (f: ReturnType<typeof fakes>, presence = true) => new EduConsumer(f.bus, f.queue, f.membership, f.wakeups, LOCAL, presence);
  const edusOf = (f: ReturnType<typeof fakes>) => f.queued.edus.map((row) => [row.destination, JSON.parse(row.eduJson) as unknown, row.dedupeKey, row.replace ?? false]);

  it('sends a local user’s typing to the other servers in the room, replacing an unsent one', async () => {
    const f = fakes({ [ROOM]: ['origin.test', 'a.test', 'b.test'] });
    await make(f).typing({ room_id: ROOM, user_id: '@alice:origin.test', typing: true, expires_at: 1 });
    await make(f).typing({ room_id: ROOM, user_id: '@bob:a.test', typing: true, expires_at: 1 });
    const edu = { edu_type: 'm.typing', content: { room_id: ROOM, user_id: '@alice:origin.test', typing: true } };
    const key = `m.typing ${ROOM} @alice:origin.test`;
    expect(edusOf(f)).toEqual([
      ['a.test', edu, key, true],
      ['b.test', edu, key, true],
    ]);
  });

  it('sends public read receipts (thread included), never private ones', async () => {
    const f = fakes({ [ROOM]: ['origin.test', 'a.test'] });
    await make(f).receipt({ room_id: ROOM, user_id: '@alice:origin.test', receipt_type: 'm.read.private', event_id: '$e', ts: 5 });
    await make(f).receipt({ room_id: ROOM, user_id: '@alice:origin.test', receipt_type: 'm.read', event_id: '$e', thread_id: 'main', ts: 5 });
    expect(edusOf(f)).toEqual([
      [
        'a.test',
        { edu_type: 'm.receipt', content: { [ROOM]: { 'm.read': { '@alice:origin.test': { event_ids: ['$e'], data: { ts: 5, thread_id: 'main' } } } } } },
        `m.receipt ${ROOM} m.read @alice:origin.test main`,
        true,
      ],
    ]);
  });

  it('sends a local user’s presence to every server sharing a room with them, once each, only when presence is enabled', async () => {
    const f = fakes({ '!one:origin.test': ['origin.test', 'a.test'], '!two:origin.test': ['a.test', 'b.test'] }, { '@alice:origin.test': ['!one:origin.test', '!two:origin.test'] });
    const update = { user_id: '@alice:origin.test', presence: 'online' as const, last_active_ts: 7, currently_active: true, status_msg: 'hi' };
    await make(f, false).presence(update);
    expect(f.queued.edus).toEqual([]);
    await make(f).presence(update);
    const edu = { edu_type: 'm.presence', content: { push: [{ user_id: '@alice:origin.test', presence: 'online', currently_active: true, last_active_ts: 7, status_msg: 'hi' }] } };
    expect(edusOf(f)).toEqual([
      ['a.test', edu, 'm.presence @alice:origin.test', true],
      ['b.test', edu, 'm.presence @alice:origin.test', true],
    ]);
  });

  it('sends to-device messages for another server’s user to that server as m.direct_to_device, once per message ID; none for local users', async () => {
    const f = fakes({});
    const messageId = 'A'.repeat(43);
    await make(f).toDevice({ recipient: '@x:127.0.0.1:8448', sender: '@alice:origin.test', type: 'm.room_key_request', message_id: messageId, messages: { DEV: { a: 1 }, '*': { b: 2 } } });
    await make(f).toDevice({ recipient: '@bob:origin.test', sender: '@alice:origin.test', type: 'm.test', message_id: 'm2', messages: { D: {} } });
    expect(edusOf(f)).toEqual([
      [
        '127.0.0.1:8448',
        { edu_type: 'm.direct_to_device', content: { sender: '@alice:origin.test', type: 'm.room_key_request', message_id: 'A'.repeat(32), messages: { '@x:127.0.0.1:8448': { DEV: { a: 1 }, '*': { b: 2 } } } } },
        `m.direct_to_device ${messageId} @x:127.0.0.1:8448`,
        false,
      ],
    ]);
    expect(f.woken).toEqual(['federation-sender']);
  });
});
