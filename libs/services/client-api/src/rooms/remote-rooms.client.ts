import { Injectable } from '@nestjs/common';
import { RemoteRoomsDefinition, type JoinRoomRequest, type JoinRoomResponse } from '@axon/contracts-grpc';
import type { ServiceClient } from '@axon/platform-rpc';
import { RpcHost } from '@axon/platform-runtime';

/** The federation receiver's `RemoteRooms`: local users joining rooms through other servers. */
@Injectable()
export class RemoteRoomsClient {
  private readonly client: ServiceClient<typeof RemoteRoomsDefinition>;

  constructor(rpc: RpcHost) {
    this.client = rpc.client(RemoteRoomsDefinition);
  }

  joinRoom(request: JoinRoomRequest): Promise<JoinRoomResponse> {
    return this.client.joinRoom(request);
  }
}
