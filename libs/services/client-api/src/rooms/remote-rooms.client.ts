import { Injectable } from '@nestjs/common';
import { RemoteRoomsDefinition } from '@axon/contracts-grpc';
import type { ServiceClient } from '@axon/platform-rpc';
import { RpcHost } from '@axon/platform-runtime';

type RemoteRooms = ServiceClient<typeof RemoteRoomsDefinition>;

/**
 * The federation receiver's `RemoteRooms`: local users joining rooms through other
 * servers, and their look-ups of other servers' profiles, aliases and room directories.
 */
@Injectable()
export class RemoteRoomsClient {
  private readonly client: RemoteRooms;

  constructor(rpc: RpcHost) {
    this.client = rpc.client(RemoteRoomsDefinition);
  }

  joinRoom(request: Parameters<RemoteRooms['joinRoom']>[0]): ReturnType<RemoteRooms['joinRoom']> {
    return this.client.joinRoom(request);
  }

  invite(request: Parameters<RemoteRooms['invite']>[0]): ReturnType<RemoteRooms['invite']> {
    return this.client.invite(request);
  }

  leaveRoom(request: Parameters<RemoteRooms['leaveRoom']>[0]): ReturnType<RemoteRooms['leaveRoom']> {
    return this.client.leaveRoom(request);
  }

  knockRoom(request: Parameters<RemoteRooms['knockRoom']>[0]): ReturnType<RemoteRooms['knockRoom']> {
    return this.client.knockRoom(request);
  }

  queryProfile(request: Parameters<RemoteRooms['queryProfile']>[0]): ReturnType<RemoteRooms['queryProfile']> {
    return this.client.queryProfile(request);
  }

  queryDirectory(request: Parameters<RemoteRooms['queryDirectory']>[0]): ReturnType<RemoteRooms['queryDirectory']> {
    return this.client.queryDirectory(request);
  }

  queryPublicRooms(request: Parameters<RemoteRooms['queryPublicRooms']>[0]): ReturnType<RemoteRooms['queryPublicRooms']> {
    return this.client.queryPublicRooms(request);
  }
}
