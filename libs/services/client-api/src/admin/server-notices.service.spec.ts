import type { DeviceId, UserId } from '@axon/matrix-identifiers';
import { MatrixError } from '@axon/matrix-errors';
import { loadConfig } from '@axon/platform-config';
import type { AccountDataService } from '../account-data/account-data.service';
import type { Requester } from '../auth/requester';
import type { RoomInputClient } from '@axon/platform-room-input';
import type { RoomQueryClient } from '../rooms/room-query.client';
import type { RoomsService } from '../rooms/rooms.service';
import type { ServerNoticeRoomsRepository } from '../storage/server-notice-rooms.repository';
import type { UserRow, UsersRepository } from '../storage/users.repository';
import { ServerNoticesService } from './server-notices.service';

const SERVER = 'hs.test';
const NOTICES = `@_server:${SERVER}` as UserId;
const ALICE = `@alice:${SERVER}` as UserId;
const admin: Requester = { userId: `@admin:${SERVER}` as UserId, deviceId: 'ADMINDEV' as DeviceId, isGuest: false, tokenHash: 'h' };
const notice = { user_id: ALICE, content: { msgtype: 'm.text', body: 'hi' } };

const user = (userId: UserId, isAdmin = false): UserRow => ({ userId, passwordHash: 'x', isGuest: false, isAdmin, deactivated: false });

/**
 * The service over an in-memory world: accounts, memberships (room -> user -> membership),
 * recorded notice rooms, tags, and the input outcomes the room server already has.
 */
function setup(env: Record<string, string> = { AXON_SERVER_NOTICES_LOCALPART: '_server' }) {
  const config = loadConfig({ env: { AXON_SERVER_NAME: SERVER, ...env } });
  const accounts = new Map<string, { row: UserRow; profile: Record<string, unknown> }>([
    [admin.userId, { row: user(admin.userId, true), profile: {} }],
    [ALICE, { row: user(ALICE), profile: {} }],
  ]);
  const memberships = new Map<string, Map<string, string>>();
  const noticeRooms = new Map<string, string>();
  const tags: [string, string, string][] = [];
  const outcomes = new Map<string, { roomId: string; eventId: string }>();
  const sent: { roomId: string; event: unknown; id: string }[] = [];
  let rooms = 0;
  const setMember = (roomId: string, userId: string, membership: string) => {
    const members = memberships.get(roomId) ?? new Map<string, string>();
    members.set(userId, membership);
    memberships.set(roomId, members);
  };

  const users = {
    find: (userId: string) => Promise.resolve(accounts.get(userId)?.row),
    profile: (userId: string) => Promise.resolve(accounts.get(userId)?.profile),
    insert: (account: { userId: UserId; passwordHash: string | null; profile: Record<string, unknown> }) => {
      accounts.set(account.userId, { row: { ...user(account.userId), passwordHash: account.passwordHash }, profile: { ...account.profile } });
      return Promise.resolve(true);
    },
    setProfileField: (userId: string, key: string, value: unknown) => {
      accounts.get(userId)!.profile[key] = value;
      return Promise.resolve();
    },
  } as unknown as UsersRepository;
  const roomsService = {
    createRoom: (requester: Requester, body: Record<string, unknown>) => {
      const roomId = `!r${++rooms}:${SERVER}`;
      setMember(roomId, requester.userId, 'join');
      sent.push({ roomId, event: { createRoom: body }, id: '' });
      return Promise.resolve({ room_id: roomId });
    },
    setMembership: (_requester: Requester, roomId: string, target: string, membership: string) => {
      setMember(roomId, target, membership);
      return Promise.resolve('$member');
    },
    sendAs: (_requester: Requester, roomId: string, event: unknown, id: string) => {
      sent.push({ roomId, event, id });
      outcomes.set(id, { roomId, eventId: `$${sent.length}` });
      return Promise.resolve(`$${sent.length}`);
    },
  } as unknown as RoomsService;
  const input = { outcome: (id: string) => Promise.resolve(outcomes.get(id)) } as unknown as RoomInputClient;
  const roomQuery = {
    getMembership: ({ roomId, userId }: { roomId: string; userId: string }) => Promise.resolve({ membership: memberships.get(roomId)?.get(userId) ?? '', eventId: '' }),
  } as unknown as RoomQueryClient;
  const repository = {
    roomOf: (userId: string) => Promise.resolve(noticeRooms.get(userId)),
    record: (userId: string, roomId: string, stale?: string) => {
      const current = noticeRooms.get(userId);
      if (current === undefined || current === stale) noticeRooms.set(userId, roomId);
      return Promise.resolve(noticeRooms.get(userId)!);
    },
  } as unknown as ServerNoticeRoomsRepository;
  const accountData = {
    tags: (userId: string, roomId: string) =>
      Promise.resolve(Object.fromEntries(tags.filter(([u, r]) => u === userId && r === roomId).map(([, , tag]) => [tag, {}]))),
    setTag: (userId: string, roomId: string, tag: string) => {
      tags.push([userId, roomId, tag]);
      return Promise.resolve();
    },
  } as unknown as AccountDataService;
  const service = new ServerNoticesService(config, users, roomsService, input, roomQuery, repository, accountData);
  return { service, accounts, sent, tags, noticeRooms, setMember, membershipOf: (roomId: string, userId: string) => memberships.get(roomId)?.get(userId) };
}

async function errorOf(promise: Promise<unknown>): Promise<{ errcode: string; status: number }> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(MatrixError);
  return error as MatrixError;
}

describe('ServerNoticesService', () => {
  it('creates the notices user without a password, one private named room, invites and tags it, then sends as the notices user', async () => {
    const world = setup();
    const eventId = await world.service.send(admin, notice, undefined);
    expect(world.accounts.get(NOTICES)).toMatchObject({ row: { passwordHash: null, isAdmin: false }, profile: { displayname: 'Server Notices' } });
    const roomId = world.noticeRooms.get(ALICE)!;
    expect(world.sent).toEqual([
      { roomId, event: { createRoom: { preset: 'private_chat', name: 'Server Notices', power_level_content_override: { users_default: -10 } } }, id: '' },
      { roomId, event: { type: 'm.room.message', content: notice.content }, id: expect.any(String) as string },
    ]);
    expect(eventId).toBe('$2');
    expect(world.membershipOf(roomId, ALICE)).toBe('invite');
    expect(world.tags).toEqual([[ALICE, roomId, 'm.server_notice']]);
  });

  it('reuses the room: no invite while invited or joined, a new invite (same room) after leaving', async () => {
    const world = setup();
    await world.service.send(admin, notice, undefined);
    const roomId = world.noticeRooms.get(ALICE)!;
    world.setMember(roomId, ALICE, 'join');
    await world.service.send(admin, notice, undefined);
    expect(world.membershipOf(roomId, ALICE)).toBe('join');
    world.setMember(roomId, ALICE, 'leave');
    await world.service.send(admin, notice, undefined);
    expect(world.membershipOf(roomId, ALICE)).toBe('invite');
    expect(world.noticeRooms.get(ALICE)).toBe(roomId);
    expect(world.sent.filter((s) => 'createRoom' in (s.event as object))).toHaveLength(1);
    expect(world.tags).toEqual([[ALICE, roomId, 'm.server_notice']]);
  });

  it('makes a new room when the notices user is no longer in the recorded one', async () => {
    const world = setup();
    await world.service.send(admin, notice, undefined);
    const first = world.noticeRooms.get(ALICE)!;
    world.setMember(first, NOTICES, 'leave');
    await world.service.send(admin, notice, undefined);
    expect(world.noticeRooms.get(ALICE)).not.toBe(first);
    expect(world.membershipOf(world.noticeRooms.get(ALICE)!, ALICE)).toBe('invite');
  });

  it('answers a repeated transaction ID of the same admin device with the first event, sending nothing', async () => {
    const world = setup();
    const first = await world.service.send(admin, notice, 'txn');
    const count = world.sent.length;
    world.setMember(world.noticeRooms.get(ALICE)!, ALICE, 'leave');
    expect(await world.service.send(admin, notice, 'txn')).toBe(first);
    expect(world.sent).toHaveLength(count);
    expect(world.membershipOf(world.noticeRooms.get(ALICE)!, ALICE)).toBe('leave');
    expect(await world.service.send({ ...admin, deviceId: 'OTHER' as DeviceId }, notice, 'txn')).not.toBe(first);
  });

  it('brings the notices user display name up to date with the config', async () => {
    const world = setup({ AXON_SERVER_NOTICES_LOCALPART: '_server' });
    world.accounts.set(NOTICES, { row: { ...user(NOTICES), passwordHash: null }, profile: { displayname: 'Old name' } });
    await world.service.send(admin, notice, undefined);
    expect(world.accounts.get(NOTICES)!.profile).toEqual({ displayname: 'Server Notices' });
  });

  it.each([
    ['a non-admin', { ...admin, userId: ALICE }, notice, 'M_FORBIDDEN', 403],
    ['no user_id', admin, { content: {} }, 'M_MISSING_PARAM', 400],
    ['no content', admin, { user_id: ALICE }, 'M_MISSING_PARAM', 400],
    ['content that is not an object', admin, { user_id: ALICE, content: [] }, 'M_BAD_JSON', 400],
    ['a membership event', admin, { ...notice, type: 'm.room.member', state_key: ALICE }, 'M_BAD_JSON', 400],
    ['a malformed user ID', admin, { ...notice, user_id: 'alice' }, 'M_INVALID_PARAM', 400],
    ['a remote user', admin, { ...notice, user_id: '@alice:elsewhere.test' }, 'M_UNKNOWN', 400],
    ['an unknown user', admin, { ...notice, user_id: `@nobody:${SERVER}` }, 'M_NOT_FOUND', 404],
  ])('refuses %s', async (_what, requester, body, errcode, status) => {
    const world = setup();
    expect(await errorOf(world.service.send(requester, body, undefined))).toMatchObject({ errcode, status });
    expect(world.sent).toEqual([]);
  });

  it('answers 400 while server notices are off, after the admin check', async () => {
    const world = setup({});
    expect(await errorOf(world.service.send(admin, notice, undefined))).toMatchObject({ errcode: 'M_UNKNOWN', status: 400 });
    expect(await errorOf(world.service.send({ ...admin, userId: ALICE }, notice, undefined))).toMatchObject({ errcode: 'M_FORBIDDEN', status: 403 });
  });
});
