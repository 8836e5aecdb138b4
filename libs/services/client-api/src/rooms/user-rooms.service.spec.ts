import type { RoomInput } from '@axon/contracts-kafka';
import { MatrixError } from '@axon/matrix-errors';
import type { UserId } from '@axon/matrix-identifiers';
import type { Logger } from '@axon/platform-telemetry';
import type { RoomInputClient } from '@axon/platform-room-input';
import type { RoomQueryClient } from './room-query.client';
import { UserRoomsService } from './user-rooms.service';

const USER = '@u:example.org' as UserId;

/** A room server with the user in some rooms, refusing inputs for the `failing` ones. */
function fakeRooms(rooms: Record<string, string[]>, failing: ReadonlySet<string>) {
  const submitted: RoomInput[] = [];
  const roomQuery = { getRoomsOfUser: ({ membership }: { membership: string }) => Promise.resolve({ roomIds: rooms[membership] ?? [] }) } as unknown as RoomQueryClient;
  const input = {
    submit: (message: RoomInput) => {
      submitted.push(message);
      if (message.kind === 'new_event' && failing.has(message.room_id)) return Promise.reject(new MatrixError('M_FORBIDDEN', 'refused', 403));
      return Promise.resolve({ roomId: message.kind === 'new_event' ? message.room_id : '', eventId: '$e' });
    },
  } as unknown as RoomInputClient;
  const warnings: unknown[] = [];
  const logger = { warn: (context: unknown) => warnings.push(context) } as unknown as Logger;
  return { service: new UserRoomsService(input, roomQuery, logger), submitted, warnings };
}

describe('UserRoomsService', () => {
  it('sends the new profile into every joined room, one refusal failing nothing but a log line', async () => {
    const { service, submitted, warnings } = fakeRooms({ join: ['!a:x', '!b:x', '!c:x'] }, new Set(['!b:x']));
    await service.propagateProfile(USER, { displayname: 'U', avatar_url: 'mxc://x/y', other: 1 } as never);
    expect(submitted.map((message) => (message.kind === 'new_event' ? [message.room_id, message.event] : []))).toEqual(
      ['!a:x', '!b:x', '!c:x'].map((roomId) => [roomId, { type: 'm.room.member', state_key: USER, sender: USER, content: { membership: 'join', displayname: 'U', avatar_url: 'mxc://x/y' } }]),
    );
    expect(warnings).toEqual([expect.objectContaining({ room_id: '!b:x' })]);
  });

  it('leaves joined, invited and knocked rooms once each on deactivation', async () => {
    const { service, submitted, warnings } = fakeRooms({ join: ['!a:x'], invite: ['!b:x'], knock: ['!c:x', '!a:x'] }, new Set());
    await service.leaveAll(USER);
    expect(submitted.map((message) => (message.kind === 'new_event' ? [message.room_id, message.event.content] : []))).toEqual([
      ['!a:x', { membership: 'leave' }],
      ['!b:x', { membership: 'leave' }],
      ['!c:x', { membership: 'leave' }],
    ]);
    expect(warnings).toEqual([]);
  });
});
