import type { DeviceId, UserId } from '@axon/matrix-identifiers';
import type { AnyTopic } from '@axon/contracts-kafka';
import type { MessageBus } from '@axon/platform-bus';
import type { Requester } from '../auth/requester';
import type { RoomQueryClient } from '../rooms/room-query.client';
import { MAX_TYPING_TIMEOUT_MS, TypingService } from './typing.service';

function setup(membership: string) {
  const published: unknown[] = [];
  const bus = {
    publish: (_topic: AnyTopic, messages: readonly unknown[]) => {
      published.push(...messages);
      return Promise.resolve();
    },
  } as unknown as MessageBus;
  const roomQuery = { getMembership: () => Promise.resolve({ membership, eventId: '$m' }) } as unknown as RoomQueryClient;
  return { service: new TypingService(roomQuery, bus), published };
}

const alice: Requester = { userId: '@alice:hs.test' as UserId, deviceId: 'DEV' as DeviceId, isGuest: false, tokenHash: 'h' };
const ROOM = '!room:hs.test';

describe('TypingService.setTyping', () => {
  it('publishes typing until now + timeout, capped at 30 s, and 30 s when no timeout is given', async () => {
    const { service, published } = setup('join');
    const before = Date.now();
    await service.setTyping(alice, ROOM, alice.userId, { typing: true, timeout: 5000 });
    await service.setTyping(alice, ROOM, alice.userId, { typing: true, timeout: 3_600_000 });
    await service.setTyping(alice, ROOM, alice.userId, { typing: true });
    const after = Date.now();
    const expiries = (published as { expires_at: number }[]).map((update) => update.expires_at);
    expect(expiries[0]).toBeGreaterThanOrEqual(before + 5000);
    expect(expiries[0]).toBeLessThanOrEqual(after + 5000);
    for (const expiry of expiries.slice(1)) {
      expect(expiry).toBeGreaterThanOrEqual(before + MAX_TYPING_TIMEOUT_MS);
      expect(expiry).toBeLessThanOrEqual(after + MAX_TYPING_TIMEOUT_MS);
    }
    expect(published[0]).toEqual({ room_id: ROOM, user_id: alice.userId, typing: true, expires_at: expiries[0] });
  });

  it('publishes a stop with expires_at 0', async () => {
    const { service, published } = setup('join');
    await service.setTyping(alice, ROOM, alice.userId, { typing: false, timeout: 5000 });
    expect(published).toEqual([{ room_id: ROOM, user_id: alice.userId, typing: false, expires_at: 0 }]);
  });

  it('publishes nothing for a user who is not joined', async () => {
    const { service, published } = setup('leave');
    await expect(service.setTyping(alice, ROOM, alice.userId, { typing: true })).rejects.toMatchObject({ errcode: 'M_FORBIDDEN', status: 403 });
    expect(published).toEqual([]);
  });
});
