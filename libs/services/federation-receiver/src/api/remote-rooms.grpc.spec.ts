import { MatrixError } from '@axon/matrix-errors';
import type { RemoteQueries } from '../remote-rooms/remote-queries';
import { createRemoteRoomsService } from './remote-rooms.grpc';

const context = {} as never;
const unreachable = (): Promise<never> => Promise.reject(new Error('connect ECONNREFUSED'));

describe('RemoteRooms, when other servers cannot be reached', () => {
  const service = createRemoteRoomsService(
    { join: unreachable },
    { profile: unreachable, alias: unreachable, publicRooms: unreachable } as unknown as RemoteQueries,
    { invite: unreachable, leave: () => Promise.reject(new MatrixError('M_UNKNOWN', 'the server failed', 502)), knock: () => Promise.reject(new MatrixError('M_FORBIDDEN', 'You are banned', 403)) },
  );

  it('answers a Client-Server refusal, never a server error', async () => {
    const request = { roomId: '!r:remote.test', userId: '@a:hs.test', servers: ['remote.test'], contentJson: '' };
    await expect(service.joinRoom(request, context)).rejects.toMatchObject({ errcode: 'M_NOT_FOUND', status: 404 });
    await expect(service.leaveRoom(request, context)).rejects.toMatchObject({ errcode: 'M_NOT_FOUND', status: 404 });
    await expect(service.invite({ roomId: '!r:hs.test', sender: '@a:hs.test', target: '@b:remote.test', contentJson: '' }, context)).rejects.toMatchObject({ errcode: 'M_FORBIDDEN', status: 403 });
    await expect(service.queryProfile({ userId: '@b:remote.test', field: '' }, context)).rejects.toMatchObject({ errcode: 'M_NOT_FOUND', status: 404 });
    await expect(service.queryDirectory({ roomAlias: '#a:remote.test' }, context)).rejects.toMatchObject({ errcode: 'M_NOT_FOUND', status: 404 });
    await expect(service.queryPublicRooms({ server: 'remote.test', limit: 0, since: '', searchTerm: '' }, context)).rejects.toMatchObject({ errcode: 'M_NOT_FOUND', status: 404 });
  });

  it("passes another server's own refusal through as it is", async () => {
    await expect(service.knockRoom({ roomId: '!r:remote.test', userId: '@a:hs.test', servers: ['remote.test'], contentJson: '' }, context)).rejects.toMatchObject({ errcode: 'M_FORBIDDEN', message: 'You are banned' });
  });
});
