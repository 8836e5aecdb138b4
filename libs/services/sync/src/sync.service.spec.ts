import { EventEmitter } from 'node:events';
import { DEFAULT_FILTER, parseFilter } from '@axon/matrix-filters';
import type { DeviceId, RoomId, UserId } from '@axon/matrix-identifiers';
import { createInProcessCache, type CacheClient } from '@axon/platform-cache';
import type { ClientConnection } from './long-poll';
import { syncChannel } from './sync-channel';
import { SyncService, type SyncRequest } from './sync.service';
import { InMemorySyncStore } from './testing/in-memory-sync-store';

const ALICE = '@alice:hs.test' as UserId;
const BOB = '@bob:hs.test' as UserId;
const CAROL = '@carol:hs.test' as UserId;
const PHONE = 'PHONE' as DeviceId;
const ROOM = '!room:hs.test' as RoomId;

type Json = Record<string, unknown>;

function events(section: unknown, path: string[]): Json[] {
  let at = section as Json | undefined;
  for (const key of path) at = at?.[key] as Json | undefined;
  return (at as unknown as Json[] | undefined) ?? [];
}

/** A room Bob created and Alice joined, with `messages` messages from Bob after her join. */
function roomWithMessages(store: InMemorySyncStore, messages: number): void {
  store.send(ROOM, { type: 'm.room.create', sender: BOB, state_key: '', content: { creator: BOB, room_version: '10' } });
  store.send(ROOM, { type: 'm.room.member', sender: BOB, state_key: BOB, content: { membership: 'join' } });
  store.send(ROOM, { type: 'm.room.history_visibility', sender: BOB, state_key: '', content: { history_visibility: 'shared' } });
  store.send(ROOM, { type: 'm.room.member', sender: ALICE, state_key: ALICE, content: { membership: 'join' } });
  for (let i = 0; i < messages; i++) store.send(ROOM, { type: 'm.room.message', sender: BOB, content: { msgtype: 'm.text', body: `hello ${i}` } });
}

describe('SyncService over an in-memory read model', () => {
  let cache: CacheClient;
  let store: InMemorySyncStore;
  let service: SyncService;
  const base: SyncRequest = { userId: ALICE, deviceId: PHONE, timeoutMs: 0, fullState: false, filter: DEFAULT_FILTER };

  function start(presenceEnabled = false): void {
    store = new InMemorySyncStore();
    service = new SyncService(store.repositories(), cache.wakeups, presenceEnabled);
  }

  beforeEach(() => {
    cache = createInProcessCache();
    start();
  });

  afterEach(async () => {
    service.release();
    await cache.close();
  });

  it('an initial sync shows a joined room with its state, its newest events and a summary', async () => {
    roomWithMessages(store, 2);
    const response = await service.sync(base);
    const room = (response['rooms'] as Json)['join'] as Record<string, Json>;
    const timeline = events(room[ROOM], ['timeline', 'events']);
    expect(timeline.map((event) => event['type'])).toEqual(['m.room.create', 'm.room.member', 'm.room.history_visibility', 'm.room.member', 'm.room.message', 'm.room.message']);
    expect(timeline[0]).not.toHaveProperty('room_id');
    expect(room[ROOM]!['summary']).toEqual({ 'm.joined_member_count': 2, 'm.invited_member_count': 0, 'm.heroes': [BOB] });
    expect(typeof response['next_batch']).toBe('string');
  });

  it('a limited initial sync has the state before its timeline, including changes in the part of the page it leaves out', async () => {
    roomWithMessages(store, 0);
    store.send(ROOM, { type: 'm.room.topic', sender: BOB, state_key: '', content: { topic: 'old' } });
    store.send(ROOM, { type: 'm.room.message', sender: BOB, content: { msgtype: 'm.text', body: 'one' } });
    // The oldest row of a page of limit + 1: not in the timeline, but in the state before it.
    store.send(ROOM, { type: 'm.room.topic', sender: BOB, state_key: '', content: { topic: 'new' } });
    store.send(ROOM, { type: 'm.room.message', sender: BOB, content: { msgtype: 'm.text', body: 'two' } });
    store.send(ROOM, { type: 'm.room.message', sender: BOB, content: { msgtype: 'm.text', body: 'three' } });
    const response = await service.sync({ ...base, filter: parseFilter({ room: { timeline: { limit: 2 } } }) });
    const room = events(response, ['rooms', 'join', ROOM]) as unknown as Json;
    expect(events(room, ['timeline', 'events']).map((event) => (event['content'] as Json)['body'])).toEqual(['two', 'three']);
    expect(events(room, ['timeline'])).toMatchObject({ limited: true });
    const state = events(room, ['state', 'events']);
    expect(state.filter((event) => event['type'] === 'm.room.topic').map((event) => (event['content'] as Json)['topic'])).toEqual(['new']);
    expect(state.map((event) => event['type']).sort()).toEqual(['m.room.create', 'm.room.history_visibility', 'm.room.member', 'm.room.member', 'm.room.topic']);
  });

  it('an initial sync hides history the user may not see, from the state before its page', async () => {
    store.send(ROOM, { type: 'm.room.create', sender: BOB, state_key: '', content: { creator: BOB, room_version: '10' } });
    store.send(ROOM, { type: 'm.room.member', sender: BOB, state_key: BOB, content: { membership: 'join' } });
    store.send(ROOM, { type: 'm.room.history_visibility', sender: BOB, state_key: '', content: { history_visibility: 'joined' } });
    for (let i = 0; i < 3; i++) store.send(ROOM, { type: 'm.room.message', sender: BOB, content: { msgtype: 'm.text', body: `before ${i}` } });
    store.send(ROOM, { type: 'm.room.member', sender: ALICE, state_key: ALICE, content: { membership: 'join' } });
    store.send(ROOM, { type: 'm.room.message', sender: BOB, content: { msgtype: 'm.text', body: 'after' } });
    const response = await service.sync({ ...base, filter: parseFilter({ room: { timeline: { limit: 3 } } }) });
    const timeline = events(response, ['rooms', 'join', ROOM, 'timeline', 'events']);
    // The visibility change itself is seen (under the setting before it, `shared`); the messages after it, before the join, are not.
    expect(timeline.map((event) => event['type'])).toEqual(['m.room.history_visibility', 'm.room.member', 'm.room.message']);
    expect((timeline[2]!['content'] as Json)['body']).toBe('after');
  });

  it('an incremental sync carries only what came after its token, and a gap beyond the limit is limited with a prev_batch', async () => {
    roomWithMessages(store, 0);
    const since = (await service.sync(base))['next_batch'] as string;
    store.send(ROOM, { type: 'm.room.message', sender: BOB, content: { msgtype: 'm.text', body: 'new' } });
    const next = await service.sync({ ...base, since });
    const timeline = events(next, ['rooms', 'join', ROOM, 'timeline', 'events']);
    expect(timeline.map((event) => (event['content'] as Json)['body'])).toEqual(['new']);
    expect(events(next, ['rooms', 'join', ROOM, 'timeline'])).toMatchObject({ limited: false });

    for (let i = 0; i < 4; i++) store.send(ROOM, { type: 'm.room.message', sender: BOB, content: { msgtype: 'm.text', body: `burst ${i}` } });
    const limited = await service.sync({ ...base, since: next['next_batch'] as string, filter: parseFilter({ room: { timeline: { limit: 2 } } }) });
    const gappy = events(limited, ['rooms', 'join', ROOM, 'timeline']) as unknown as Json;
    expect((gappy['events'] as Json[]).map((event) => (event['content'] as Json)['body'])).toEqual(['burst 2', 'burst 3']);
    expect(gappy['limited']).toBe(true);
    expect(gappy['prev_batch']).toMatch(/^t\d+$/);
  });

  it('gives unsigned.transaction_id only to the device that sent the event, in initial and incremental syncs', async () => {
    roomWithMessages(store, 0);
    const txnOf = (response: Json, body: string): unknown => {
      const event = events(response, ['rooms', 'join', ROOM, 'timeline', 'events']).find((candidate) => (candidate['content'] as Json)['body'] === body);
      expect(event).toBeDefined();
      return (event!['unsigned'] as Json | undefined)?.['transaction_id'];
    };
    const since = (await service.sync(base))['next_batch'] as string;
    store.send(ROOM, { type: 'm.room.message', sender: ALICE, content: { msgtype: 'm.text', body: 'from the phone' } }, { device_id: PHONE, txn_id: 'txn-1' });
    // Bob's device bears the same name: the user must match too.
    store.send(ROOM, { type: 'm.room.message', sender: BOB, content: { msgtype: 'm.text', body: 'from bob' } }, { device_id: PHONE, txn_id: 'txn-2' });
    const laptop = { ...base, deviceId: 'LAPTOP' as DeviceId };
    const bob = { ...base, userId: BOB };
    for (const query of [{}, { since }]) {
      expect(txnOf(await service.sync({ ...base, ...query }), 'from the phone')).toBe('txn-1');
      expect(txnOf(await service.sync({ ...base, ...query }), 'from bob')).toBeUndefined();
      expect(txnOf(await service.sync({ ...laptop, ...query }), 'from the phone')).toBeUndefined();
      expect(txnOf(await service.sync({ ...bob, ...query }), 'from the phone')).toBeUndefined();
      expect(txnOf(await service.sync({ ...bob, deviceId: PHONE, ...query }), 'from bob')).toBe('txn-2');
    }
    // Cut by the filter's event_fields like any other field.
    const cut = await service.sync({ ...base, filter: parseFilter({ event_fields: ['content.body', 'unsigned.transaction_id'] }) });
    expect(events(cut, ['rooms', 'join', ROOM, 'timeline', 'events'])).toContainEqual({ content: { body: 'from the phone' }, unsigned: { transaction_id: 'txn-1' } });
  });

  it('shows an invite with stripped state, but not an invite from an ignored user', async () => {
    store.send(ROOM, { type: 'm.room.create', sender: BOB, state_key: '', content: { creator: BOB } });
    store.send(ROOM, { type: 'm.room.name', sender: BOB, state_key: '', content: { name: 'Tea' } });
    store.send(ROOM, { type: 'm.room.member', sender: BOB, state_key: ALICE, content: { membership: 'invite' } });
    const invite = events(await service.sync(base), ['rooms', 'invite', ROOM, 'invite_state', 'events']);
    expect(invite.map((event) => event['type']).sort()).toEqual(['m.room.create', 'm.room.member', 'm.room.name']);

    store.putAccountData(ALICE, '', 'm.ignored_user_list', { ignored_users: { [BOB]: {} } });
    const ignored = await service.sync(base);
    expect(ignored['rooms']).toBeUndefined();
    expect(events(ignored, ['account_data', 'events'])).toEqual([{ type: 'm.ignored_user_list', content: { ignored_users: { [BOB]: {} } } }]);
  });

  it('delivers to-device messages once, and deletes them when the device syncs past them', async () => {
    const since = (await service.sync(base))['next_batch'] as string;
    store.sendToDevice(ALICE, PHONE, BOB, 'm.room_key_request', { action: 'request' });
    store.sendToDevice(ALICE, 'LAPTOP' as DeviceId, BOB, 'm.room_key_request', { action: 'cancel' });
    const first = await service.sync({ ...base, since });
    expect(events(first, ['to_device', 'events'])).toEqual([{ sender: BOB, type: 'm.room_key_request', content: { action: 'request' } }]);
    expect(store.inboxSize(ALICE, PHONE)).toBe(1);
    const second = await service.sync({ ...base, since: first['next_batch'] as string });
    expect(second['to_device']).toBeUndefined();
    expect(store.inboxSize(ALICE, PHONE)).toBe(0);
    expect(store.inboxSize(ALICE, 'LAPTOP' as DeviceId)).toBe(1);
  });

  it('reports device-list changes of room-mates and of users who start sharing a room, and those who stop in left', async () => {
    roomWithMessages(store, 0);
    const since = (await service.sync(base))['next_batch'] as string;
    store.changeDevices(BOB);
    store.changeDevices(CAROL);
    store.send(ROOM, { type: 'm.room.member', sender: CAROL, state_key: CAROL, content: { membership: 'join' } });
    const joined = await service.sync({ ...base, since });
    expect(joined['device_lists']).toEqual({ changed: [BOB, CAROL] });

    store.send(ROOM, { type: 'm.room.member', sender: CAROL, state_key: CAROL, content: { membership: 'leave' } });
    const left = await service.sync({ ...base, since: joined['next_batch'] as string });
    expect(left['device_lists']).toEqual({ left: [CAROL] });
  });

  it('shows the presence of room-mates, not of strangers, when presence is enabled', async () => {
    start(true);
    roomWithMessages(store, 0);
    store.setPresence(BOB, 'online', Date.now());
    store.setPresence(CAROL, 'online', Date.now());
    const presence = events(await service.sync(base), ['presence', 'events']);
    expect(presence.map((event) => event['sender'])).toEqual([BOB]);
    expect(presence[0]).toMatchObject({ type: 'm.presence', content: { presence: 'online', currently_active: true } });
  });

  it('shows no presence when presence is disabled', async () => {
    roomWithMessages(store, 0);
    store.setPresence(BOB, 'online', Date.now());
    expect((await service.sync(base))['presence']).toBeUndefined();
  });

  it('a long-poll with nothing new waits, and answers when a wake-up follows a change for the user', async () => {
    roomWithMessages(store, 0);
    const since = (await service.sync(base))['next_batch'] as string;
    let answered = false;
    const poll = service.sync({ ...base, since, timeoutMs: 60_000 }).then((response) => {
      answered = true;
      return response;
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(answered).toBe(false);

    store.send(ROOM, { type: 'm.room.message', sender: BOB, content: { msgtype: 'm.text', body: 'wake up' } });
    await cache.wakeups.publish(syncChannel(ALICE), 'event');
    const response = await poll;
    expect(events(response, ['rooms', 'join', ROOM, 'timeline', 'events']).map((event) => (event['content'] as Json)['body'])).toEqual(['wake up']);
  });

  it('every waiting long-poll of a user answers on one wake-up, and a later poll of the user still waits for the next', async () => {
    roomWithMessages(store, 0);
    const since = (await service.sync(base))['next_batch'] as string;
    const phone = service.sync({ ...base, since, timeoutMs: 60_000 });
    const laptop = service.sync({ ...base, deviceId: 'LAPTOP' as DeviceId, since, timeoutMs: 60_000 });
    await new Promise((resolve) => setTimeout(resolve, 20));
    store.send(ROOM, { type: 'm.room.message', sender: BOB, content: { msgtype: 'm.text', body: 'both' } });
    await cache.wakeups.publish(syncChannel(ALICE), 'event');
    const answers = await Promise.all([phone, laptop]);
    for (const answer of answers) expect(events(answer, ['rooms', 'join', ROOM, 'timeline', 'events']).map((event) => (event['content'] as Json)['body'])).toEqual(['both']);

    const later = service.sync({ ...base, since: answers[0]['next_batch'] as string, timeoutMs: 60_000 });
    await new Promise((resolve) => setTimeout(resolve, 20));
    store.send(ROOM, { type: 'm.room.message', sender: BOB, content: { msgtype: 'm.text', body: 'again' } });
    await cache.wakeups.publish(syncChannel(ALICE), 'event');
    expect(events(await later, ['rooms', 'join', ROOM, 'timeline', 'events']).map((event) => (event['content'] as Json)['body'])).toEqual(['again']);
  });

  it('a long-poll ends empty with the same token at its timeout, when the client goes away, and at release', async () => {
    roomWithMessages(store, 0);
    const since = (await service.sync(base))['next_batch'] as string;
    expect(await service.sync({ ...base, since, timeoutMs: 30 })).toEqual({ next_batch: since });

    const client = new EventEmitter();
    const abandoned = service.sync({ ...base, since, timeoutMs: 60_000, client: client as EventEmitter & ClientConnection });
    const released = service.sync({ ...base, since, timeoutMs: 60_000 });
    client.emit('close');
    expect(await abandoned).toEqual({ next_batch: since });
    service.release();
    expect(await released).toEqual({ next_batch: since });
  });
});
