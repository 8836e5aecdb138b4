import type { DeviceId, RoomId, UserId } from '@axon/matrix-identifiers';
import type { AnyTopic } from '@axon/contracts-kafka';
import { MatrixError } from '@axon/matrix-errors';
import type { MessageBus } from '@axon/platform-bus';
import type { AccountDataService } from '../account-data/account-data.service';
import type { Requester } from '../auth/requester';
import type { RoomReadsService } from '../rooms/room-reads.service';
import { ReceiptsService } from './receipts.service';

const ROOM = '!room:hs.test' as RoomId;
const SEEN = '$seen:hs.test';
const OTHER = '$other:hs.test';

/** ReceiptsService with a room where only SEEN and OTHER are visible, and recorders for the bus and account data. */
function setup() {
  const published: unknown[] = [];
  const accountData: unknown[][] = [];
  const bus = {
    publish: (_topic: AnyTopic, messages: readonly unknown[]) => {
      published.push(...messages);
      return Promise.resolve();
    },
  } as unknown as MessageBus;
  const reads = {
    checkJoinedAndVisible: (_requester: Requester, _roomId: string, eventIds: readonly string[]) =>
      eventIds.every((id) => id === SEEN || id === OTHER) ? Promise.resolve() : Promise.reject(new MatrixError('M_NOT_FOUND', 'event not found', 404)),
  } as unknown as RoomReadsService;
  const data = {
    set: (...args: unknown[]) => {
      accountData.push(args);
      return Promise.resolve();
    },
  } as unknown as AccountDataService;
  return { service: new ReceiptsService(reads, data, bus), published, accountData };
}

const bob: Requester = { userId: '@bob:hs.test' as UserId, deviceId: 'DEV' as DeviceId, isGuest: false, tokenHash: 'h' };

describe('ReceiptsService', () => {
  it('publishes a threaded receipt with its thread and the time it was sent', async () => {
    const { service, published, accountData } = setup();
    await service.receipt(bob, ROOM, 'm.read.private', SEEN, { thread_id: 'main' });
    expect(published).toEqual([{ room_id: ROOM, user_id: bob.userId, receipt_type: 'm.read.private', event_id: SEEN, thread_id: 'main', ts: expect.any(Number) }]);
    expect(accountData).toEqual([]);
  });

  it('sets m.fully_read as server-managed room account data instead of publishing a receipt', async () => {
    const { service, published, accountData } = setup();
    await service.receipt(bob, ROOM, 'm.fully_read', SEEN, {});
    expect(published).toEqual([]);
    expect(accountData).toEqual([[bob.userId, ROOM, 'm.fully_read', { event_id: SEEN }, false]]);
  });

  it('read_markers: both receipts (unthreaded) and the marker', async () => {
    const { service, published, accountData } = setup();
    await service.readMarkers(bob, ROOM, { 'm.fully_read': SEEN, 'm.read': SEEN, 'm.read.private': OTHER });
    expect(published).toEqual([
      { room_id: ROOM, user_id: bob.userId, receipt_type: 'm.read', event_id: SEEN, ts: expect.any(Number) },
      { room_id: ROOM, user_id: bob.userId, receipt_type: 'm.read.private', event_id: OTHER, ts: expect.any(Number) },
    ]);
    expect(accountData).toEqual([[bob.userId, ROOM, 'm.fully_read', { event_id: SEEN }, false]]);
  });

  it('read_markers: moves nothing when one target is not visible', async () => {
    const { service, published, accountData } = setup();
    await expect(service.readMarkers(bob, ROOM, { 'm.fully_read': SEEN, 'm.read': '$hidden:hs.test' })).rejects.toMatchObject({ errcode: 'M_NOT_FOUND' });
    expect(published).toEqual([]);
    expect(accountData).toEqual([]);
  });
});
